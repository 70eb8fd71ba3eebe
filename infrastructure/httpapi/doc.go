// Package httpapi is the HTTP transport: it implements the strict server interface
// generated from openapi.yaml, maps requests to application commands and queries, and
// maps every error to an RFC 9457 problem in one place (problems.go).
package httpapi
