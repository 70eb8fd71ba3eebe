package application

import (
	"context"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// OrderQueries is the read side of orders: the order_overview read model, and the
// event log for history and time travel.
type OrderQueries interface {
	// OrderByID returns order.ErrNotFound for an unknown id.
	OrderByID(ctx context.Context, id uuid.UUID) (OrderView, error)
	ListOrders(ctx context.Context, q ListOrders) (OrderPage, error)
	// OrderEvents returns the order's events in version order, within r (an
	// EventReader); an unknown order gives no events.
	OrderEvents(ctx context.Context, id uuid.UUID, r EventRange) ([]RecordedEvent[order.Event], error)
}
