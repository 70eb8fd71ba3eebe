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
	var invalid []order.FieldError
	switch {
	case q.Version != 0 && q.At != nil:
		invalid = append(invalid, order.FieldError{Field: "version", Message: "give either version or at, not both"})
	case q.Version < 0:
		invalid = append(invalid, order.FieldError{Field: "version", Message: "must be at least 1"})
	case q.Version == 0 && q.At == nil:
		invalid = append(invalid, order.FieldError{Field: "version", Message: "give a version or a time"})
	}
	if len(invalid) > 0 {
		return OrderView{}, fmt.Errorf("order %s as of: %w", q.OrderID, &order.ValidationError{Fields: invalid})
	}
	recorded, err := h.queries.OrderEvents(ctx, q.OrderID, q.Version, q.At)
	if err != nil {
		return OrderView{}, fmt.Errorf("order %s as of: %w", q.OrderID, err)
	}
	if len(recorded) == 0 || (q.Version != 0 && recorded[len(recorded)-1].Version < q.Version) {
		return OrderView{}, fmt.Errorf("order %s as of version %d / time %v: %w", q.OrderID, q.Version, q.At, order.ErrNotFound)
	}
	events := make([]order.Event, len(recorded))
	for i, r := range recorded {
		events[i] = r.Event
	}
	state := order.Fold(order.Initial(), events...)
	if !CanSeeCustomer(ctx, state.CustomerID) {
		return OrderView{}, fmt.Errorf("order %s as of: not the caller's: %w", q.OrderID, order.ErrNotFound)
	}
	return OrderView{State: state, Version: recorded[len(recorded)-1].Version}, nil
}
