package tracing_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/example/orders/infrastructure/tracing"
)

// A span's name and method attribute never carry a client's invented method: trace
// backends index span names, as Prometheus does labels.
func TestSpanNamesAreBounded(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.With(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	e := echo.New()
	e.Use(tr.Middleware())
	e.GET("/orders/:id", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	for _, method := range []string{"GET", "PROPFIND", strings.Repeat("X", 1024)} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/orders/1", nil))
	}
	var names []string
	for _, s := range exp.GetSpans() {
		names = append(names, s.Name)
		for _, a := range s.Attributes {
			if a.Key == "http.request.method" && a.Value.AsString() != "GET" && a.Value.AsString() != "_OTHER" {
				t.Errorf("span %.40q: http.request.method %.40q", s.Name, a.Value.AsString())
			}
		}
	}
	if want := "GET /orders/:id,_OTHER /orders/:id,_OTHER /orders/:id"; strings.Join(names, ",") != want {
		t.Errorf("span names %.200q, want %q", names, want)
	}
}
