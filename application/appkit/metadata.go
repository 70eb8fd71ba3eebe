package appkit

import "context"

// Metadata travels with a command from the edge (HTTP) into every event it produces.
type Metadata struct {
	// CorrelationID ties together everything done for one business request.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the id of the message that caused this one: for an HTTP command,
	// the request id.
	CausationID string `json:"causation_id,omitempty"`
	// IssuedBy says who or what issued the command, e.g. "http POST /orders".
	IssuedBy string `json:"issued_by,omitempty"`
	// Actor is the subject of the authenticated principal that issued the command
	// (empty when authentication is off); set by the handler.
	Actor string `json:"actor,omitempty"`
	// Command is the name of the command that produced the events; set by the handler.
	Command string `json:"command,omitempty"`
	// Traceparent is the W3C trace context (traceparent header) of the span that issued
	// the command (the request's, or a reactor's consumer span), set by the handler
	// (RunnerConfig.Traceparent). An asynchronous consumer of the events continues the
	// trace from it: as the parent of its own span when it handles one event, or as a
	// span link when it handles a batch of events from several traces.
	Traceparent string `json:"traceparent,omitempty"`
}

type metadataKey struct{}

// WithMetadata returns a context that carries md to the command handlers.
func WithMetadata(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, metadataKey{}, md)
}

// MetadataFrom returns the metadata put into ctx by WithMetadata, or none.
func MetadataFrom(ctx context.Context) Metadata {
	md, _ := ctx.Value(metadataKey{}).(Metadata)
	return md
}
