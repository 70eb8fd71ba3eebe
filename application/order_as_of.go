package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// OrderAsOf asks for an order as it was at a version or at a point in time (exactly one
// of them). The answer is folded from the events, not read from the read model, so it
// is right for any past moment.
type OrderAsOf struct {
	OrderID uuid.UUID
	Version int64      // 0: not given
	At      *time.Time // nil: not given
}

// OrderAsOfHandler handles OrderAsOf.
type OrderAsOfHandler struct{ queries OrderQueries }

func NewOrderAsOfHandler(q OrderQueries) *OrderAsOfHandler { return &OrderAsOfHandler{queries: q} }

func (h *OrderAsOfHandler) Handle(ctx context.Context, q OrderAsOf) (OrderView, error) {
	v, err := asOf(ctx, h.queries.OrderEvents, order.Decider, order.Resource, order.ErrNotFound, q.OrderID, q.Version, q.At)
	if err == nil && !CanSeeCustomer(ctx, v.State.CustomerID) {
		return OrderView{}, fmt.Errorf("order %s as of: not the caller's: %w", q.OrderID, order.ErrNotFound)
	}
	return v, err
}
