package application

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// OrderHistoryHandler answers an order's events, in version order.
type OrderHistoryHandler struct{ queries OrderQueries }

func NewOrderHistoryHandler(q OrderQueries) *OrderHistoryHandler {
	return &OrderHistoryHandler{queries: q}
}

func (h *OrderHistoryHandler) Handle(ctx context.Context, id uuid.UUID) ([]RecordedEvent[order.Event], error) {
	events, err := history(ctx, h.queries.OrderEvents, order.Resource, id, order.ErrNotFound)
	if err != nil {
		return nil, err
	}
	// The first event (OrderPlaced) names the owner.
	if !CanReadAllEvents(ctx) && !CanSeeCustomer(ctx, order.Fold(order.Initial(), events[0].Event).CustomerID) {
		return nil, fmt.Errorf("order history %s: not the caller's: %w", id, order.ErrNotFound)
	}
	return events, nil
}
