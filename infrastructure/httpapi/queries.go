package httpapi

import (
	"context"
	"fmt"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
)

func (h *Handlers) GetOrder(ctx context.Context, r api.GetOrderRequestObject) (api.GetOrderResponseObject, error) {
	var v application.OrderView
	var err error
	if r.Params.Version != nil || r.Params.At != nil {
		q := application.OrderAsOf{OrderID: r.Id}
		if r.Params.Version != nil {
			q.Version = *r.Params.Version
		}
		q.At = r.Params.At
		v, err = h.app.Queries.OrderAsOf.Handle(ctx, q)
	} else {
		v, err = h.app.Queries.GetOrder.Handle(ctx, r.Id)
	}
	if err != nil {
		return nil, err
	}
	if ifNoneMatchHits(r.Params.IfNoneMatch, v.Version) {
		return api.GetOrder304Response{Headers: api.GetOrder304ResponseHeaders{ETag: etag(v.Version)}}, nil
	}
	return api.GetOrder200JSONResponse{Body: toAPIOrder(v), Headers: api.GetOrder200ResponseHeaders{ETag: etag(v.Version)}}, nil
}

func (h *Handlers) ListOrders(ctx context.Context, r api.ListOrdersRequestObject) (api.ListOrdersResponseObject, error) {
	q := application.ListOrders{}
	if r.Params.Status != nil {
		q.Status = order.Status(*r.Params.Status)
	}
	if r.Params.CustomerId != nil {
		q.CustomerID = *r.Params.CustomerId
	}
	if r.Params.Limit != nil {
		q.Limit = *r.Params.Limit
	}
	if r.Params.Cursor != nil {
		q.Cursor = *r.Params.Cursor
	}
	page, err := h.app.Queries.ListOrders.Handle(ctx, q)
	if err != nil {
		return nil, err
	}
	out := api.OrderPage{Items: make([]api.Order, len(page.Items))}
	for i, v := range page.Items {
		out.Items[i] = toAPIOrder(v)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return api.ListOrders200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetOrderEvents(ctx context.Context, r api.GetOrderEventsRequestObject) (api.GetOrderEventsResponseObject, error) {
	page, err := h.app.Queries.OrderHistory.Handle(ctx, historyQuery(r.Id, r.Params.After, r.Params.Limit))
	if err != nil {
		return nil, err
	}
	out, err := toAPIEvents(page)
	if err != nil {
		return nil, fmt.Errorf("order %s history: %w", r.Id, err)
	}
	return api.GetOrderEvents200JSONResponse{Body: out}, nil
}
