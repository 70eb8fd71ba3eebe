package application

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
)

// OrderView is an order as of a version.
type OrderView = appkit.Versioned[order.State]

// OrderStore is the write side's port for orders.
type OrderStore = appkit.EventStore[order.State, order.Event]

// OrderQueries is the read side of orders: the order_overview read model, and the
// event log for history and time travel.
type OrderQueries interface {
	appkit.OwnedReads[order.State, order.Event]
	ListOrders(ctx context.Context, q ListOrders) (OrderPage, error)
}

// Orders are the order use cases: the kit's Aggregate (the owned reads, the command
// handler and the queries port) and a few lines per command that build the domain
// command.
type Orders struct {
	appkit.Aggregate[order.Command, order.Event, order.State, OrderQueries]
}

// orderAggregate: a customer sees and acts on its own orders (authorizeOrder), staff on all.
var orderAggregate = appkit.Definition[order.Command, order.Event, order.State]{Resource: order.Resource,
	Decider: order.Decider, NotFound: order.ErrNotFound, Owner: func(s order.State) string { return s.CustomerID }}

// NewOrders returns the order use cases, writing through store and reading through q.
func NewOrders(store OrderStore, q OrderQueries, cfg appkit.RunnerConfig) *Orders {
	return &Orders{appkit.NewAggregate(orderAggregate, store, q, cfg)}
}

// OrderResult is an order command's outcome.
type OrderResult = appkit.CommandResult[order.State]

// OrderOptions are the options of an order command.
type OrderOptions = appkit.CommandOptions

// PlaceOrder opens a new order with the given id: the client's choice (so that it can
// repeat the request safely), or NewID's.
type PlaceOrder struct {
	OrderID    uuid.UUID
	CustomerID string
	Currency   string
	Contact    *order.Contact // optional personal data: sealed in the log, erasable
	Options    OrderOptions
}

// A customer places orders only for itself: an empty CustomerID becomes the caller's
// subject, another customer's id is ErrForbidden. Staff place for anyone.
func (c *Orders) PlaceOrder(ctx context.Context, cmd PlaceOrder) (OrderResult, error) {
	caller, err := appkit.Caller(ctx)
	if err != nil {
		return OrderResult{}, fmt.Errorf("PlaceOrder: %w", err)
	}
	if cmd.CustomerID == "" {
		cmd.CustomerID = caller.Subject // empty for the unrestricted principal: the domain refuses it
	} else if !appkit.CanSeeCustomer(ctx, cmd.CustomerID) {
		return OrderResult{}, fmt.Errorf("PlaceOrder for customer %q: %w", cmd.CustomerID, appkit.ErrForbidden)
	}
	return c.Commands.Run(ctx, "PlaceOrder", cmd.OrderID, cmd.Options, func(at time.Time) order.Command {
		return order.PlaceOrder{OrderID: cmd.OrderID, CustomerID: cmd.CustomerID, Currency: cmd.Currency, Contact: cmd.Contact, At: at}
	})
}

// AddOrderLine adds a line to a pending order.
type AddOrderLine struct {
	OrderID        uuid.UUID
	SKU            string
	Quantity       int
	UnitPriceCents int64
	Options        OrderOptions
}

func (c *Orders) AddOrderLine(ctx context.Context, cmd AddOrderLine) (OrderResult, error) {
	return c.Commands.Handle(ctx, appkit.Command[order.Command, order.State]{Name: "AddOrderLine", ID: cmd.OrderID, Options: cmd.Options,
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

func (c *Orders) ConfirmOrder(ctx context.Context, cmd ConfirmOrder) (OrderResult, error) {
	return c.Commands.Handle(ctx, appkit.Command[order.Command, order.State]{Name: "ConfirmOrder", ID: cmd.OrderID, Options: cmd.Options,
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

func (c *Orders) CancelOrder(ctx context.Context, cmd CancelOrder) (OrderResult, error) {
	return c.Commands.Handle(ctx, appkit.Command[order.Command, order.State]{Name: "CancelOrder", ID: cmd.OrderID, Options: cmd.Options,
		Authorize: authorizeOrder,
		Build:     func(at time.Time) order.Command { return order.Cancel{Reason: cmd.Reason, At: at} }})
}

// authorizeOrder lets the caller act on an order it may see; another customer's order
// is answered as if it did not exist. An order not placed yet has no owner: the
// decider answers it (not found). PlaceOrder has no check here: placing an id that is
// taken answers order_already_placed whoever owns it, which tells a caller who knows
// the id only that it is taken, nothing of the order.
func authorizeOrder(ctx context.Context, current OrderView) error {
	if current.Version > 0 && !appkit.CanSeeCustomer(ctx, current.State.CustomerID) {
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

// ListOrders asks for orders newest first, optionally filtered, one page at a time.
// Limit 0 means DefaultPageSize; Cursor is the NextCursor of the previous page.
type ListOrders struct {
	Status     order.Status
	CustomerID string
	Limit      int
	Cursor     string
	// After is Cursor decoded; ListOrders sets it for the OrderQueries port.
	After *appkit.PageKey
}

// OrderPage is one page of orders and the cursor to the next ("" on the last page).
type OrderPage = appkit.Page[OrderView]

// ListOrders answers a page of orders from the read model. A customer lists its own
// orders only: no customer_id filter means its own, and another customer's id gives an
// empty page (as a filter that matches nothing).
func (c *Orders) ListOrders(ctx context.Context, q ListOrders) (OrderPage, error) {
	var invalid []kit.FieldError
	if q.CustomerID != "" && (!utf8.ValidString(q.CustomerID) || utf8.RuneCountInString(q.CustomerID) > order.MaxCustomerIDLength ||
		strings.IndexFunc(q.CustomerID, unicode.IsControl) >= 0) {
		invalid = append(invalid, kit.FieldError{Field: "customer_id", Message: fmt.Sprintf("must be at most %d characters of text without control characters", order.MaxCustomerIDLength)})
	}
	invalid = append(invalid, appkit.OneOf("status", q.Status, order.StatusPending, order.StatusConfirmed, order.StatusCancelled)...)
	return appkit.List(ctx, "orders", q.Limit, q.Cursor, q.CustomerID, invalid, func(limit int, after *appkit.PageKey, customer string) (OrderPage, error) {
		q.Limit, q.After, q.CustomerID = limit, after, customer
		return c.Queries.ListOrders(ctx, q)
	})
}
