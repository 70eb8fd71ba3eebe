package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

// presentOrder is an order's representation and address.
func presentOrder(v application.OrderView) (any, string) {
	return toAPIOrder(v), "/orders/" + v.State.ID.String()
}

func (h *Handlers) PlaceOrder(ctx context.Context, r api.PlaceOrderRequestObject) (api.PlaceOrderResponseObject, error) {
	body := *r.Body
	var id uuid.UUID
	if body.Id != nil {
		id = *body.Id // the nil UUID included: the domain rejects it
	} else if newID, err := application.NewID(); err != nil {
		return nil, err
	} else {
		id = newID
	}
	req := commandRequest{operation: "placeOrder", path: "/orders", idempotencyKey: r.Params.IdempotencyKey,
		correlationID: r.Params.XCorrelationID, body: body, successStatus: http.StatusCreated, location: true}
	customer := "" // the caller's own
	if body.CustomerId != nil {
		customer = *body.CustomerId
	}
	return runCommand(ctx, req, presentOrder, func(ctx context.Context, opts application.OrderOptions) (application.OrderResult, error) {
		return h.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: customer, Currency: body.Currency, Options: opts})
	})
}

func (h *Handlers) AddOrderLine(ctx context.Context, r api.AddOrderLineRequestObject) (api.AddOrderLineResponseObject, error) {
	body := *r.Body
	req := commandRequest{operation: "addOrderLine", path: "/orders/" + r.Id.String() + "/lines",
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		body: body, successStatus: http.StatusOK}
	return runCommand(ctx, req, presentOrder, func(ctx context.Context, opts application.OrderOptions) (application.OrderResult, error) {
		return h.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: r.Id, SKU: body.Sku,
			Quantity: int(body.Quantity), UnitPriceCents: body.UnitPriceCents, Options: opts})
	})
}

func (h *Handlers) ConfirmOrder(ctx context.Context, r api.ConfirmOrderRequestObject) (api.ConfirmOrderResponseObject, error) {
	req := commandRequest{operation: "confirmOrder", path: "/orders/" + r.Id.String() + "/confirm",
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		successStatus: http.StatusOK}
	return runCommand(ctx, req, presentOrder, func(ctx context.Context, opts application.OrderOptions) (application.OrderResult, error) {
		return h.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: r.Id, Options: opts})
	})
}

func (h *Handlers) CancelOrder(ctx context.Context, r api.CancelOrderRequestObject) (api.CancelOrderResponseObject, error) {
	reason := ""
	if r.Body != nil && r.Body.Reason != nil {
		reason = *r.Body.Reason
	}
	req := commandRequest{operation: "cancelOrder", path: "/orders/" + r.Id.String() + "/cancel",
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		body: api.CancelRequest{Reason: &reason}, successStatus: http.StatusOK}
	return runCommand(ctx, req, presentOrder, func(ctx context.Context, opts application.OrderOptions) (application.OrderResult, error) {
		return h.app.Orders.CancelOrder(ctx, application.CancelOrder{OrderID: r.Id, Reason: reason, Options: opts})
	})
}

// A stored response answers every order command.
func (s storedResponse) VisitPlaceOrderResponse(w http.ResponseWriter) error   { return s.write(w) }
func (s storedResponse) VisitAddOrderLineResponse(w http.ResponseWriter) error { return s.write(w) }
func (s storedResponse) VisitConfirmOrderResponse(w http.ResponseWriter) error { return s.write(w) }
func (s storedResponse) VisitCancelOrderResponse(w http.ResponseWriter) error  { return s.write(w) }
