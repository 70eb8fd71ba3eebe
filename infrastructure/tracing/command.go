package tracing

import (
	"context"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/orders/application/appkit"
)

// CommandObserver returns the observer that makes a span per command attempt (nil
// when tracing is off): named after the command, with the aggregate, its id, the
// attempt number and the attempt's outcome. The attempt's SQL spans are its children.
func (t *Tracing) CommandObserver() appkit.CommandObserver {
	if !t.Enabled {
		return nil
	}
	return commandSpans{t}
}

type commandSpans struct{ t *Tracing }

func (o commandSpans) AttemptStarted(ctx context.Context, command, resource string, id uuid.UUID, attempt int) (context.Context, func(string)) {
	ctx, span := o.t.tracer.Start(ctx, command, trace.WithAttributes(
		attribute.String("aggregate", resource),
		attribute.String("id", id.String()),
		attribute.Int("attempt", attempt),
	))
	return ctx, func(outcome string) {
		span.SetAttributes(attribute.String("outcome", outcome))
		if outcome == appkit.OutcomeError {
			span.SetStatus(codes.Error, outcome)
		}
		span.End()
	}
}

func (commandSpans) CommandFinished(string, string, int) {}
