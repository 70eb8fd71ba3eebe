// Package application runs the order use cases: commands (read the stream, fold, decide,
// append, project, commit) and queries. It declares the ports it needs (ports.go) and
// leaves their implementation to infrastructure; it knows neither SQL nor HTTP.
package application
