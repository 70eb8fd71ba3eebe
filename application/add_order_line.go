package application

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// AddOrderLine adds a line to a pending order.
type AddOrderLine struct {
	OrderID        uuid.UUID
	SKU            string
	Quantity       int
	UnitPriceCents int64
	Options        CommandOptions
}

// AddOrderLineHandler handles AddOrderLine.
type AddOrderLineHandler struct{ runner *CommandRunner }

func NewAddOrderLineHandler(runner *CommandRunner) *AddOrderLineHandler {
	return &AddOrderLineHandler{runner: runner}
}

func (h *AddOrderLineHandler) Handle(ctx context.Context, cmd AddOrderLine) (CommandResult, error) {
	return h.runner.run(ctx, orderCommand{
		name: "AddOrderLine", orderID: cmd.OrderID, opts: cmd.Options,
		decide: func(s order.State, at time.Time) ([]order.Event, error) {
			return order.Decide(s, order.AddLine{SKU: cmd.SKU, Quantity: cmd.Quantity, UnitPriceCents: cmd.UnitPriceCents, At: at})
		},
	})
}
