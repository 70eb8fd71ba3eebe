package application

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// ConfirmOrder closes a pending order for changes. Confirming a confirmed order
// changes nothing and succeeds.
type ConfirmOrder struct {
	OrderID uuid.UUID
	Options CommandOptions
}

// ConfirmOrderHandler handles ConfirmOrder.
type ConfirmOrderHandler struct{ runner *CommandRunner }

func NewConfirmOrderHandler(runner *CommandRunner) *ConfirmOrderHandler {
	return &ConfirmOrderHandler{runner: runner}
}

func (h *ConfirmOrderHandler) Handle(ctx context.Context, cmd ConfirmOrder) (CommandResult, error) {
	return h.runner.run(ctx, orderCommand{
		name: "ConfirmOrder", orderID: cmd.OrderID, opts: cmd.Options,
		decide: func(s order.State, at time.Time) ([]order.Event, error) {
			return order.Decide(s, order.Confirm{At: at})
		},
	})
}
