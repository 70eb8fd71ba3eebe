package application

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// CancelOrder ends a pending or confirmed order. Cancelling a cancelled order changes
// nothing and succeeds.
type CancelOrder struct {
	OrderID uuid.UUID
	Reason  string
	Options CommandOptions
}

// CancelOrderHandler handles CancelOrder.
type CancelOrderHandler struct{ runner *CommandRunner }

func NewCancelOrderHandler(runner *CommandRunner) *CancelOrderHandler {
	return &CancelOrderHandler{runner: runner}
}

func (h *CancelOrderHandler) Handle(ctx context.Context, cmd CancelOrder) (CommandResult, error) {
	return h.runner.run(ctx, orderCommand{
		name: "CancelOrder", orderID: cmd.OrderID, opts: cmd.Options,
		decide: func(s order.State, at time.Time) ([]order.Event, error) {
			return order.Decide(s, order.Cancel{Reason: cmd.Reason, At: at})
		},
	})
}
