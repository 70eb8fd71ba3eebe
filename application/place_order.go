package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// PlaceOrder opens a new order. OrderID may be left zero for a new time-ordered id;
// a client that chooses it can repeat the request safely.
type PlaceOrder struct {
	OrderID    uuid.UUID
	CustomerID string
	Currency   string
	Options    CommandOptions
}

// PlaceOrderHandler handles PlaceOrder.
type PlaceOrderHandler struct{ runner *CommandRunner }

func NewPlaceOrderHandler(runner *CommandRunner) *PlaceOrderHandler {
	return &PlaceOrderHandler{runner: runner}
}

func (h *PlaceOrderHandler) Handle(ctx context.Context, cmd PlaceOrder) (CommandResult, error) {
	id := cmd.OrderID
	if id == uuid.Nil {
		var err error
		if id, err = uuid.NewV7(); err != nil {
			return CommandResult{}, fmt.Errorf("place order: new id: %w", err)
		}
	}
	return h.runner.run(ctx, orderCommand{
		name: "PlaceOrder", orderID: id, opts: cmd.Options,
		decide: func(s order.State, at time.Time) ([]order.Event, error) {
			return order.Decide(s, order.PlaceOrder{OrderID: id, CustomerID: cmd.CustomerID, Currency: cmd.Currency, At: at})
		},
	})
}
