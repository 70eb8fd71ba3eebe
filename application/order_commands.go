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
type OrderStore = EventStore[order.State, order.Event]

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
type OrderOptions = CommandOptions

// PlaceOrder opens a new order with the given id: the client's choice (so that it can
// repeat the request safely), or NewID's.
type PlaceOrder struct {
	OrderID    uuid.UUID
	CustomerID string
	Currency   string
	Options    OrderOptions
}

// A customer places orders only for itself: an empty CustomerID becomes the caller's
// subject, another customer's id is ErrForbidden. Staff place for anyone.
func (c OrderCommands) PlaceOrder(ctx context.Context, cmd PlaceOrder) (OrderResult, error) {
	caller, err := Caller(ctx)
	if err != nil {
		return OrderResult{}, fmt.Errorf("PlaceOrder: %w", err)
	}
	if cmd.CustomerID == "" {
		cmd.CustomerID = caller.Subject // empty for the unrestricted principal: the domain refuses it
	} else if !CanSeeCustomer(ctx, cmd.CustomerID) {
		return OrderResult{}, fmt.Errorf("PlaceOrder for customer %q: %w", cmd.CustomerID, ErrForbidden)
	}
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
		Authorize: authorizeOrder,
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
		Authorize: authorizeOrder,
		Build:     func(at time.Time) order.Command { return order.Confirm{At: at} }})
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
		Authorize: authorizeOrder,
		Build:     func(at time.Time) order.Command { return order.Cancel{Reason: cmd.Reason, At: at} }})
}

// authorizeOrder lets the caller act on an order it may see; another customer's order
// is answered as if it did not exist. An order not placed yet has no owner: the
// decider answers it (not found). PlaceOrder has no check here: placing an id that is
// taken answers order_already_placed whoever owns it, which tells a caller who knows
// the id only that it is taken, nothing of the order.
func authorizeOrder(ctx context.Context, current OrderView) error {
	if current.Version > 0 && !CanSeeCustomer(ctx, current.State.CustomerID) {
		return order.ErrNotFound
	}
	return nil
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
