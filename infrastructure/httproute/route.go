// Package httproute tells the route template and the method of a request, for the
// metrics and tracing middleware: labels and span names must never carry raw paths
// (ids) or a client's invented method, each of which would be a new series.
package httproute

import (
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
)

// Unmatched is the route of requests that matched no route, so that probes of random
// paths cannot create metric series or span names.
const Unmatched = "unmatched"

// OtherMethod is the method of requests whose method is not one of HTTP's own: any
// string is a valid method token, so a client could otherwise invent a series per
// request. The name is OpenTelemetry's (semantic conventions, http.request.method).
const OtherMethod = "_OTHER"

// Method returns m when it is one of the methods of RFC 9110 or PATCH, else OtherMethod.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return OtherMethod
}

// Set tells a request's route template, or Unmatched. Echo gives an unmatched request
// the path of the nearest node of its tree, which is not a route, so the template is
// checked against the routes registered (read once, at the first request).
type Set struct {
	once   sync.Once
	routes map[string]bool
}

// Of returns c's route template or Unmatched.
func (s *Set) Of(c echo.Context) string {
	s.once.Do(func() {
		s.routes = map[string]bool{}
		for _, r := range c.Echo().Routes() {
			s.routes[r.Path] = true
		}
	})
	if p := c.Path(); s.routes[p] {
		return p
	}
	return Unmatched
}
