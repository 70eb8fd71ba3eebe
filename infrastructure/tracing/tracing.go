// Package tracing sets up OpenTelemetry traces: a span per HTTP request, per command
// attempt and per SQL statement or batch, exported over OTLP/HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. Otherwise
// the tracer provider is the no-op one and nothing is installed that would cost time.
package tracing

import (
	"context"
	"fmt"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/example/orders/infrastructure/servicename"
)

// ScopeName names the instrumentation scope of the service's own spans.
const ScopeName = "github.com/example/orders"

// Tracing is the tracer provider the service's spans go to.
type Tracing struct {
	Provider trace.TracerProvider
	// Enabled is false for the no-op provider: instrumentation is then not installed.
	Enabled bool
	tracer  trace.Tracer
}

// Disabled is tracing off.
func Disabled() *Tracing {
	tp := noop.NewTracerProvider()
	return &Tracing{Provider: tp, tracer: tp.Tracer(ScopeName)}
}

// With is tracing to tp (in tests, an SDK provider with an in-memory exporter).
func With(tp trace.TracerProvider) *Tracing {
	return &Tracing{Provider: tp, Enabled: true, tracer: tp.Tracer(ScopeName)}
}

// Configured reports whether the environment asks for traces to be exported: an OTLP
// endpoint is set, and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none.
func Configured(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup returns tracing as the environment configures it, and a shutdown that flushes
// the spans still buffered. The OTLP/HTTP exporter reads the other OTEL_* variables
// itself (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _INSECURE, ...), the SDK reads
// OTEL_TRACES_SAMPLER(_ARG) and OTEL_BSP_*, and the resource OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES (service.name defaults to servicename.Name). Setup also
// installs the provider and the W3C trace-context propagator globally.
func Setup(ctx context.Context, getenv func(string) string) (*Tracing, func(context.Context) error, error) {
	if !Configured(getenv) {
		return Disabled(), func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", servicename.Name)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return With(tp), tp.Shutdown, nil
}

// PgxTracer returns the tracer to give the pool (a span per statement and per batch,
// with the statement but never its arguments), or nil when tracing is off.
func (t *Tracing) PgxTracer() pgx.QueryTracer {
	if !t.Enabled {
		return nil
	}
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(t.Provider), otelpgx.WithTrimSQLInSpanName())
}

// Traceparent returns the W3C traceparent of the span in ctx, or "" when there is none.
func Traceparent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// ContextFromTraceparent returns ctx with the remote span context of traceparent (from
// an event's metadata), for a consumer to start its span as a child of the command's.
// See docs/architecture.md for when to link instead.
func ContextFromTraceparent(ctx context.Context, traceparent string) context.Context {
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}
