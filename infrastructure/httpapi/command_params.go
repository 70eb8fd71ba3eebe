package httpapi

import (
	"net/http"

	"github.com/example/orders/api"
)

// createParams and changeParams are the header parameters every create and every
// change of a resource takes (openapi.yaml's shared IdempotencyKey, CorrelationId,
// Prefer, and IfMatch on a change). An operation's generated Params converts to one
// of them, the compiler checking that it has exactly these, so that a command handler
// builds its commandRequest in one call.
type (
	createParams struct{ IdempotencyKey, XCorrelationID, Prefer *string }
	changeParams struct{ IfMatch, IdempotencyKey, XCorrelationID, Prefer *string }
)

// request is a create at path: 201 with Location. existing, when known before the
// command runs (a derived or client-chosen id), is where a create that finds the
// resource already there points (commandRequest.existing).
func (p createParams) request(operation, path string, body any, existing string) commandRequest {
	return commandRequest{operation: operation, path: path, idempotencyKey: p.IdempotencyKey, correlationID: p.XCorrelationID,
		prefer: p.Prefer, body: body, successStatus: http.StatusCreated, location: true, existing: existing}
}

// request is a change at path: 200, preconditioned by If-Match.
func (p changeParams) request(operation, path string, body any) commandRequest {
	return commandRequest{operation: operation, path: path, ifMatch: p.IfMatch, idempotencyKey: p.IdempotencyKey,
		correlationID: p.XCorrelationID, prefer: p.Prefer, body: body, successStatus: http.StatusOK}
}

// cancellation is the reason of an optional cancellation body ("" without one) and
// the body as fingerprinted: absent and empty are the same request.
func cancellation(body *api.CancelRequest) (string, api.CancelRequest) {
	reason := ""
	if body != nil && body.Reason != nil {
		reason = *body.Reason
	}
	return reason, api.CancelRequest{Reason: &reason}
}

// value is an optional parameter's value, its type's zero when absent.
func value[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}
