package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Unmatched is the route label of requests that matched no route, so that probes of
// random paths cannot create series.
const Unmatched = "unmatched"

// Middleware counts and times every request by its route template. Put it before the
// middleware that turns errors into answers, or after one that does as the service's
// access log does, so that the status is final when it returns.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	var routes RouteSet
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			route := routes.Of(c)
			method := c.Request().Method
			m.httpRequests.WithLabelValues(method, route, strconv.Itoa(c.Response().Status)).Inc()
			m.httpDuration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// RouteSet tells a request's route template, or Unmatched. Echo gives an unmatched
// request the path of the nearest node of its tree, which is not a route, so the
// template is checked against the routes registered (read once, at the first request).
type RouteSet struct {
	once   sync.Once
	routes map[string]bool
}

// Of returns c's route template or Unmatched.
func (s *RouteSet) Of(c echo.Context) string {
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
