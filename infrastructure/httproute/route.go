// Package httproute tells the route template a request matched, for the metrics and
// tracing middleware: labels and span names must never carry raw paths (ids).
package httproute

import (
	"sync"

	"github.com/labstack/echo/v4"
)

// Unmatched is the route of requests that matched no route, so that probes of random
// paths cannot create metric series or span names.
const Unmatched = "unmatched"

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
