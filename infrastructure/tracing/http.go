package tracing

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/orders/infrastructure/httproute"
)

// Middleware starts a server span per request, continuing the caller's trace when the
// request carries a traceparent header. It is named "METHOD route template"
// ("unmatched" for no route; "_OTHER" for a method outside HTTP's own, so that a
// client cannot invent span names). It is written here rather than taken from otelecho,
// whose last release (v0.60.0) is no longer maintained in opentelemetry-go-contrib.
// When tracing is off, it is a pass-through.
func (t *Tracing) Middleware() echo.MiddlewareFunc {
	if !t.Enabled {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	prop := propagation.TraceContext{}
	var routes httproute.Set
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route, method := routes.Of(c), httproute.Method(req.Method)
			ctx := prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			ctx, span := t.tracer.Start(ctx, method+" "+route,
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(
					attribute.String("http.request.method", method),
					attribute.String("http.route", route),
					attribute.String("url.path", req.URL.Path),
				))
			defer span.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			return nil
		}
	}
}
