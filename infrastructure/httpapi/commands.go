package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

// commandRequest is what every command endpoint shares: preconditions, idempotency and
// the metadata that goes into the events.
type commandRequest struct {
	operation      string    // the operationId, part of the idempotency fingerprint
	path           string    // for Location and problem instances
	orderID        uuid.UUID // of an existing order, for If-Match lists
	ifMatch        *string
	idempotencyKey *string
	correlationID  *string
	body           any // the decoded body, fingerprinted in canonical form
	successStatus  int
	location       bool
}

// prepare turns the shared headers into command options and a context with metadata.
func (h *Handlers) prepare(ctx context.Context, r commandRequest) (context.Context, application.CommandOptions, error) {
	expected, err := h.expectedVersion(ctx, r.ifMatch, r.orderID)
	if err != nil {
		return ctx, application.CommandOptions{}, err
	}
	opts := application.CommandOptions{ExpectedVersion: expected}
	if r.idempotencyKey != nil {
		fp, err := fingerprint(r)
		if err != nil {
			return ctx, opts, err
		}
		opts.Idempotency = &application.Idempotency{Key: *r.idempotencyKey, Fingerprint: fp, Render: renderer(r)}
	}
	requestID := requestIDFrom(ctx)
	md := application.Metadata{CorrelationID: requestID, CausationID: requestID, IssuedBy: "http " + r.operation}
	if r.correlationID != nil && *r.correlationID != "" {
		if !printableText(*r.correlationID) {
			return ctx, opts, badRequest("X-Correlation-ID must be printable UTF-8 text.",
				api.FieldError{Field: "X-Correlation-ID", Message: "must be printable UTF-8 text without control characters"})
		}
		md.CorrelationID = *r.correlationID
	}
	return application.WithMetadata(ctx, md), opts, nil
}

// fingerprint identifies a request for idempotency: the operation, the resource, the
// precondition and the body re-encoded, so whitespace and key order do not matter.
func fingerprint(r commandRequest) (string, error) {
	body, err := json.Marshal(r.body)
	if err != nil {
		return "", err
	}
	ifMatch := ""
	if r.ifMatch != nil {
		ifMatch = *r.ifMatch
	}
	sum := sha256.New()
	for _, part := range []string{r.operation, r.path, ifMatch, string(body)} {
		sum.Write([]byte(part))
		sum.Write([]byte{0})
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// renderer renders a command's outcome inside its transaction, so the stored response
// is exactly what the first caller gets. Outcomes that a retry could change (503,
// exhausted retries, 500) are not kept.
func renderer(r commandRequest) func(application.OrderView, error) (application.StoredResponse, bool) {
	return func(v application.OrderView, err error) (application.StoredResponse, bool) {
		if err != nil {
			p := problemFor(err, r.path)
			resp, encErr := encodeProblem(p)
			code := ""
			if p.body.Code != nil {
				code = *p.body.Code
			}
			keep := encErr == nil && p.body.Status < 500 && code != "concurrency_conflict"
			return resp, keep
		}
		body, encErr := json.Marshal(toAPIOrder(v))
		if encErr != nil {
			return application.StoredResponse{}, false
		}
		headers := map[string]string{"ETag": etag(v.Version)}
		if r.location {
			headers["Location"] = "/orders/" + v.ID.String()
		}
		return application.StoredResponse{Status: r.successStatus, ContentType: "application/json", Headers: headers, Body: append(body, '\n')}, true
	}
}

func (h *Handlers) PlaceOrder(ctx context.Context, r api.PlaceOrderRequestObject) (api.PlaceOrderResponseObject, error) {
	body := *r.Body
	ctx, opts, err := h.prepare(ctx, commandRequest{operation: "placeOrder", path: "/orders", idempotencyKey: r.Params.IdempotencyKey,
		correlationID: r.Params.XCorrelationID, body: body, successStatus: http.StatusCreated, location: true})
	if err != nil {
		return nil, err
	}
	var id uuid.UUID
	if body.Id != nil {
		id = *body.Id // the nil UUID included: the domain rejects it
	} else if id, err = application.NewOrderID(); err != nil {
		return nil, err
	}
	res, err := h.app.Commands.PlaceOrder.Handle(ctx, application.PlaceOrder{OrderID: id, CustomerID: body.CustomerId, Currency: body.Currency, Options: opts})
	if res.Response != nil {
		return storedResponse{resp: *res.Response, replayed: res.Replayed}, nil
	}
	if err != nil {
		return nil, err
	}
	return api.PlaceOrder201JSONResponse{Body: toAPIOrder(res.Order), Headers: api.PlaceOrder201ResponseHeaders{
		ETag: etag(res.Order.Version), Location: "/orders/" + res.Order.ID.String()}}, nil
}

func (h *Handlers) AddOrderLine(ctx context.Context, r api.AddOrderLineRequestObject) (api.AddOrderLineResponseObject, error) {
	body := *r.Body
	ctx, opts, err := h.prepare(ctx, commandRequest{operation: "addOrderLine", path: "/orders/" + r.Id.String() + "/lines", orderID: r.Id,
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		body: body, successStatus: http.StatusOK})
	if err != nil {
		return nil, err
	}
	res, err := h.app.Commands.AddOrderLine.Handle(ctx, application.AddOrderLine{OrderID: r.Id, SKU: body.Sku,
		Quantity: int(body.Quantity), UnitPriceCents: body.UnitPriceCents, Options: opts})
	if res.Response != nil {
		return storedResponse{resp: *res.Response, replayed: res.Replayed}, nil
	}
	if err != nil {
		return nil, err
	}
	return api.AddOrderLine200JSONResponse{Body: toAPIOrder(res.Order), Headers: api.AddOrderLine200ResponseHeaders{ETag: etag(res.Order.Version)}}, nil
}

func (h *Handlers) ConfirmOrder(ctx context.Context, r api.ConfirmOrderRequestObject) (api.ConfirmOrderResponseObject, error) {
	ctx, opts, err := h.prepare(ctx, commandRequest{operation: "confirmOrder", path: "/orders/" + r.Id.String() + "/confirm", orderID: r.Id,
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		successStatus: http.StatusOK})
	if err != nil {
		return nil, err
	}
	res, err := h.app.Commands.ConfirmOrder.Handle(ctx, application.ConfirmOrder{OrderID: r.Id, Options: opts})
	if res.Response != nil {
		return storedResponse{resp: *res.Response, replayed: res.Replayed}, nil
	}
	if err != nil {
		return nil, err
	}
	return api.ConfirmOrder200JSONResponse{Body: toAPIOrder(res.Order), Headers: api.ConfirmOrder200ResponseHeaders{ETag: etag(res.Order.Version)}}, nil
}

func (h *Handlers) CancelOrder(ctx context.Context, r api.CancelOrderRequestObject) (api.CancelOrderResponseObject, error) {
	reason := ""
	if r.Body != nil && r.Body.Reason != nil {
		reason = *r.Body.Reason
	}
	ctx, opts, err := h.prepare(ctx, commandRequest{operation: "cancelOrder", path: "/orders/" + r.Id.String() + "/cancel", orderID: r.Id,
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		body: api.CancelRequest{Reason: &reason}, successStatus: http.StatusOK})
	if err != nil {
		return nil, err
	}
	res, err := h.app.Commands.CancelOrder.Handle(ctx, application.CancelOrder{OrderID: r.Id, Reason: reason, Options: opts})
	if res.Response != nil {
		return storedResponse{resp: *res.Response, replayed: res.Replayed}, nil
	}
	if err != nil {
		return nil, err
	}
	return api.CancelOrder200JSONResponse{Body: toAPIOrder(res.Order), Headers: api.CancelOrder200ResponseHeaders{ETag: etag(res.Order.Version)}}, nil
}

// printableText reports whether s is valid UTF-8 without control characters: text that
// PostgreSQL stores (no NUL, no invalid bytes) and that logs show as it is.
func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
