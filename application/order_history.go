package application

import (
	"context"

	"github.com/example/orders/domain/order"
)

// OrderHistoryHandler answers an order's events, in version order, a page at a time.
type OrderHistoryHandler struct{ queries OrderQueries }

func NewOrderHistoryHandler(q OrderQueries) *OrderHistoryHandler {
	return &OrderHistoryHandler{queries: q}
}

// Handle answers a page of the order's events. The first event (OrderPlaced) names
// the owner; another customer's order is order.ErrNotFound.
func (h *OrderHistoryHandler) Handle(ctx context.Context, q HistoryQuery) (HistoryPage[order.Event], error) {
	return history(ctx, h.queries.OrderEvents, order.Resource, q, order.ErrNotFound,
		func(first order.Event) string { return order.Fold(order.Initial(), first).CustomerID })
}
