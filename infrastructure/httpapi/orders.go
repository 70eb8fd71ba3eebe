package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
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
	req := createParams(r.Params).request("placeOrder", "/orders", body, "")
	customer := "" // the caller's own
	if body.CustomerId != nil {
		customer = *body.CustomerId
	}
	return runCommand(ctx, req, presentOrder, func(ctx context.Context, opts application.OrderOptions) (application.OrderResult, error) {
		return h.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: customer, Currency: body.Currency,
			Contact: fromAPIContact(body.Contact), Options: opts})
	})
}

func (h *Handlers) AddOrderLine(ctx context.Context, r api.AddOrderLineRequestObject) (api.AddOrderLineResponseObject, error) {
	body := *r.Body
	req := changeParams(r.Params).request("addOrderLine", "/orders/"+r.Id.String()+"/lines", body)
	return runCommand(ctx, req, presentOrder, func(ctx context.Context, opts application.OrderOptions) (application.OrderResult, error) {
		return h.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: r.Id, SKU: body.Sku,
			Quantity: int(body.Quantity), UnitPriceCents: body.UnitPriceCents, Options: opts})
	})
}

func (h *Handlers) ConfirmOrder(ctx context.Context, r api.ConfirmOrderRequestObject) (api.ConfirmOrderResponseObject, error) {
	req := changeParams(r.Params).request("confirmOrder", "/orders/"+r.Id.String()+"/confirm", nil)
	return runCommand(ctx, req, presentOrder, func(ctx context.Context, opts application.OrderOptions) (application.OrderResult, error) {
		return h.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: r.Id, Options: opts})
	})
}

func (h *Handlers) CancelOrder(ctx context.Context, r api.CancelOrderRequestObject) (api.CancelOrderResponseObject, error) {
	reason, body := cancellation(r.Body)
	req := changeParams(r.Params).request("cancelOrder", "/orders/"+r.Id.String()+"/cancel", body)
	return runCommand(ctx, req, presentOrder, func(ctx context.Context, opts application.OrderOptions) (application.OrderResult, error) {
		return h.app.Orders.CancelOrder(ctx, application.CancelOrder{OrderID: r.Id, Reason: reason, Options: opts})
	})
}

func (h *Handlers) GetOrder(ctx context.Context, r api.GetOrderRequestObject) (api.GetOrderResponseObject, error) {
	return getResource(ctx, h.app.Orders.Owned, r.Id, r.Params.Version, r.Params.At, r.Params.IfNoneMatch, presentOrder)
}

func (h *Handlers) ListOrders(ctx context.Context, r api.ListOrdersRequestObject) (api.ListOrdersResponseObject, error) {
	page, err := h.app.Orders.ListOrders(ctx, application.ListOrders{Status: order.Status(value(r.Params.Status)),
		CustomerID: value(r.Params.CustomerId), Limit: value(r.Params.Limit), Cursor: value(r.Params.Cursor)})
	return listPage(page, err, toAPIOrder)
}

func (h *Handlers) GetOrderEvents(ctx context.Context, r api.GetOrderEventsRequestObject) (api.GetOrderEventsResponseObject, error) {
	return historyPage(ctx, h.app.Orders.Owned, r.Id, r.Params.After, r.Params.Limit)
}

// A rendered response answers every order operation.
func (s storedResponse) VisitPlaceOrderResponse(w http.ResponseWriter) error     { return s.write(w) }
func (s storedResponse) VisitAddOrderLineResponse(w http.ResponseWriter) error   { return s.write(w) }
func (s storedResponse) VisitConfirmOrderResponse(w http.ResponseWriter) error   { return s.write(w) }
func (s storedResponse) VisitCancelOrderResponse(w http.ResponseWriter) error    { return s.write(w) }
func (s storedResponse) VisitGetOrderResponse(w http.ResponseWriter) error       { return s.write(w) }
func (s storedResponse) VisitListOrdersResponse(w http.ResponseWriter) error     { return s.write(w) }
func (s storedResponse) VisitGetOrderEventsResponse(w http.ResponseWriter) error { return s.write(w) }

func toAPIOrder(v application.OrderView) api.Order {
	lines := make([]api.OrderLine, len(v.State.Lines))
	for i, l := range v.State.Lines {
		lines[i] = api.OrderLine{Sku: l.SKU, Quantity: int32(l.Quantity), UnitPriceCents: l.UnitPriceCents} //nolint:gosec // the domain bounds a quantity by order.MaxQuantity
	}
	return api.Order{
		Id: v.State.ID, CustomerId: v.State.CustomerID, Currency: v.State.Currency, Status: api.OrderStatus(v.State.Status),
		Lines: lines, TotalCents: v.State.TotalCents, LineCount: int64(len(v.State.Lines)), UnitCount: int64(v.State.UnitCount), Version: v.Version,
		PlacedAt: v.State.PlacedAt, UpdatedAt: v.State.UpdatedAt, Contact: toAPIContact(v.State.Contact),
	}
}
