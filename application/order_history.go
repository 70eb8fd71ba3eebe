package application

import (
	"context"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// OrderHistoryHandler answers an order's events, in version order.
type OrderHistoryHandler struct{ queries OrderQueries }

func NewOrderHistoryHandler(q OrderQueries) *OrderHistoryHandler {
	return &OrderHistoryHandler{queries: q}
}

func (h *OrderHistoryHandler) Handle(ctx context.Context, id uuid.UUID) ([]RecordedEvent[order.Event], error) {
	return history(ctx, h.queries.OrderEvents, order.Resource, id, order.ErrNotFound)
}
