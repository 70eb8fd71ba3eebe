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
	events, err := h.queries.OrderEvents(ctx, id, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("order history %s: %w", id, err)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("order history %s: %w", id, order.ErrNotFound)
	}
	if !CanReadAllEvents(ctx) {
		// The first event (OrderPlaced) names the owner.
		if !CanSeeCustomer(ctx, order.Fold(order.Initial(), events[0].Event).CustomerID) {
			return nil, fmt.Errorf("order history %s: not the caller's: %w", id, order.ErrNotFound)
		}
	}
	return events, nil
}
