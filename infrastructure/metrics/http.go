package metrics

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/orders/infrastructure/httproute"
)

// Middleware counts and times every request by its method and route template, both
// bounded (httproute.Method, httproute.Set): /metrics is open to anyone who can reach
// it, and an invented method or path must not add a series. Put it before the
// middleware that turns errors into answers, or after one that does as the service's
// access log does, so that the status is final when it returns.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	var routes httproute.Set
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			route := routes.Of(c)
			method := httproute.Method(c.Request().Method)
			m.httpRequests.WithLabelValues(method, route, strconv.Itoa(c.Response().Status)).Inc()
			m.httpDuration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}
