package application

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// OrderQueries is the read side of orders: the order_overview read model, and the
// event log for history and time travel.
type OrderQueries interface {
	// OrderByID returns order.ErrNotFound for an unknown id.
	OrderByID(ctx context.Context, id uuid.UUID) (OrderView, error)
	ListOrders(ctx context.Context, q ListOrders) (OrderPage, error)
	// OrderEvents returns the order's events in version order, up to a version (0 means
	// no bound) and a time (nil means no bound); an unknown order gives no events.
	OrderEvents(ctx context.Context, id uuid.UUID, toVersion int64, until *time.Time) ([]RecordedEvent[order.Event], error)
}
