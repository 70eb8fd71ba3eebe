package application

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// GetOrderHandler answers an order by id from the read model, which the command that
// last changed the order updated in its own transaction.
type GetOrderHandler struct{ queries OrderQueries }

func NewGetOrderHandler(q OrderQueries) *GetOrderHandler { return &GetOrderHandler{queries: q} }

func (h *GetOrderHandler) Handle(ctx context.Context, id uuid.UUID) (OrderView, error) {
	v, err := h.queries.OrderByID(ctx, id)
	if err != nil {
		return OrderView{}, fmt.Errorf("get order %s: %w", id, err)
	}
	if !CanSeeCustomer(ctx, v.State.CustomerID) {
		return OrderView{}, fmt.Errorf("get order %s: not the caller's: %w", id, order.ErrNotFound)
	}
	return v, nil
}
