package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// PlaceOrder opens a new order with the given id: the client's choice (so that it can
// repeat the request safely), or NewOrderID's.
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

// NewOrderID returns a new time-ordered (UUIDv7) order id, for callers that let the
// service choose.
func NewOrderID() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new order id: %w", err)
	}
	return id, nil
}

func (h *PlaceOrderHandler) Handle(ctx context.Context, cmd PlaceOrder) (CommandResult, error) {
	id := cmd.OrderID
	return h.runner.run(ctx, orderCommand{
		name: "PlaceOrder", orderID: id, opts: cmd.Options,
		decide: func(s order.State, at time.Time) ([]order.Event, error) {
			return order.Decide(s, order.PlaceOrder{OrderID: id, CustomerID: cmd.CustomerID, Currency: cmd.Currency, At: at})
		},
	})
}
