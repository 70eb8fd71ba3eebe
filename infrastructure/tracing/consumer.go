package tracing

import (
	"context"
	"encoding/json"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ConsumerSpan starts the span of a consumer handling events, continuing the traces of
// the commands that wrote them (their traceparent is in each event's metadata): one
// event makes the span a child of its command's span, so a trace shows the request and
// the reactions to it; several (a projection's batch) link to each. It returns ctx
// unchanged and a no-op when tracing is off.
func (t *Tracing) ConsumerSpan(ctx context.Context, consumer string, metadata []json.RawMessage) (context.Context, func(error)) {
	if !t.Enabled {
		return ctx, func(error) {}
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("consumer", consumer), attribute.Int("events", len(metadata)))}
	if len(metadata) == 1 {
		if tp := traceparentOf(metadata[0]); tp != "" {
			ctx = ContextFromTraceparent(ctx, tp)
		}
	} else {
		for _, m := range metadata {
			if tp := traceparentOf(m); tp != "" {
				if sc := trace.SpanContextFromContext(ContextFromTraceparent(context.Background(), tp)); sc.IsValid() {
					opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
				}
			}
		}
	}
	ctx, span := t.tracer.Start(ctx, "consume "+consumer, opts...)
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "consumer failed")
		}
		span.End()
	}
}

func traceparentOf(metadata json.RawMessage) string {
	var m struct {
		Traceparent string `json:"traceparent"`
	}
	if json.Unmarshal(metadata, &m) != nil {
		return ""
	}
	return m.Traceparent
}
