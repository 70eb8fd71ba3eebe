package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// OrderView is an order as of a version.
type OrderView = Versioned[order.State]

// OrderStore is the write side's port for orders.
type OrderStore = Transactor[order.State, order.Event]

// OrderCommands runs the order commands. Each is a few lines that build the domain
// command; the generic CommandHandler does the rest.
type OrderCommands struct {
	handler *CommandHandler[order.Command, order.Event, order.State]
}

// NewOrderCommands returns the order commands, writing through store.
func NewOrderCommands(store OrderStore, cfg RunnerConfig) OrderCommands {
	return OrderCommands{handler: NewCommandHandler(order.Resource, store, order.Decider, cfg)}
}

// OrderResult is an order command's outcome.
type OrderResult = CommandResult[order.State]

// OrderOptions are the options of an order command.
type OrderOptions = CommandOptions[order.State]

// PlaceOrder opens a new order with the given id: the client's choice (so that it can
// repeat the request safely), or NewID's.
type PlaceOrder struct {
	OrderID    uuid.UUID
	CustomerID string
	Currency   string
	Options    OrderOptions
}

func (c OrderCommands) PlaceOrder(ctx context.Context, cmd PlaceOrder) (OrderResult, error) {
	return c.handler.Handle(ctx, Command[order.Command, order.State]{Name: "PlaceOrder", ID: cmd.OrderID, Options: cmd.Options,
		Build: func(at time.Time) order.Command {
			return order.PlaceOrder{OrderID: cmd.OrderID, CustomerID: cmd.CustomerID, Currency: cmd.Currency, At: at}
		}})
}

// AddOrderLine adds a line to a pending order.
type AddOrderLine struct {
	OrderID        uuid.UUID
	SKU            string
	Quantity       int
	UnitPriceCents int64
	Options        OrderOptions
}

func (c OrderCommands) AddOrderLine(ctx context.Context, cmd AddOrderLine) (OrderResult, error) {
	return c.handler.Handle(ctx, Command[order.Command, order.State]{Name: "AddOrderLine", ID: cmd.OrderID, Options: cmd.Options,
		Build: func(at time.Time) order.Command {
			return order.AddLine{SKU: cmd.SKU, Quantity: cmd.Quantity, UnitPriceCents: cmd.UnitPriceCents, At: at}
		}})
}

// ConfirmOrder closes a pending order for changes. Confirming a confirmed order changes
// nothing and succeeds.
type ConfirmOrder struct {
	OrderID uuid.UUID
	Options OrderOptions
}

func (c OrderCommands) ConfirmOrder(ctx context.Context, cmd ConfirmOrder) (OrderResult, error) {
	return c.handler.Handle(ctx, Command[order.Command, order.State]{Name: "ConfirmOrder", ID: cmd.OrderID, Options: cmd.Options,
		Build: func(at time.Time) order.Command { return order.Confirm{At: at} }})
}

// CancelOrder ends a pending or confirmed order. Cancelling a cancelled order changes
// nothing and succeeds.
type CancelOrder struct {
	OrderID uuid.UUID
	Reason  string
	Options OrderOptions
}

func (c OrderCommands) CancelOrder(ctx context.Context, cmd CancelOrder) (OrderResult, error) {
	return c.handler.Handle(ctx, Command[order.Command, order.State]{Name: "CancelOrder", ID: cmd.OrderID, Options: cmd.Options,
		Build: func(at time.Time) order.Command { return order.Cancel{Reason: cmd.Reason, At: at} }})
}

// NewID returns a new time-ordered (UUIDv7) aggregate id, for callers that let the
// service choose.
func NewID() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new id: %w", err)
	}
	return id, nil
}
