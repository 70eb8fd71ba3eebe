package order

import (
	"fmt"
	"math"

	"github.com/example/orders/domain/kit"
)

// Limits of the rules below, exported so that the API contract and tests can quote them.
const (
	MaxCustomerIDLength = 64
	MaxSKULength        = 64
	MinQuantity         = 1
	MaxQuantity         = 1000
	MaxUnitPriceCents   = 100_000_000
	MaxReasonLength     = 500
	// MaxLines bounds an order's lines, and with them its state, its stream and every
	// response that shows it: adding a line past it is ErrTooManyLines.
	MaxLines = 1000
)

// Decider is the order aggregate as a value, for the generic command handler.
var Decider = kit.Decider[Command, Event, State]{
	Decide:  Decide,
	Evolve:  Evolve,
	Initial: Initial(),
	FoldAll: func(s State, events []Event) State { return Fold(s, events...) },
}

// Decide turns a command into the events that record it, or explains with a typed error
// why it cannot be done. No events and no error means the command is already satisfied
// (confirming a confirmed order, cancelling a cancelled one).
func Decide(s State, c Command) ([]Event, error) {
	switch c := c.(type) {
	case PlaceOrder:
		return place(s, c)
	case AddLine:
		return addLine(s, c)
	case Confirm:
		return confirm(s, c)
	case Cancel:
		return cancel(s, c)
	default:
		return nil, fmt.Errorf("order: unknown command %T", c)
	}
}

func place(s State, c PlaceOrder) ([]Event, error) {
	var v kit.Validation
	v.ID("id", c.OrderID)
	v.Text("customer_id", c.CustomerID, MaxCustomerIDLength)
	if !isCurrencyCode(c.Currency) {
		v.Add("currency", "must be three upper-case letters (ISO 4217), such as EUR")
	}
	if c.Contact != nil {
		validateContact(&v, *c.Contact)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if s.Exists() {
		return nil, ErrAlreadyPlaced
	}
	placed := OrderPlaced{OrderID: c.OrderID, CustomerID: c.CustomerID, Currency: c.Currency, PlacedAt: c.At}
	if c.Contact != nil {
		placed.Contact = kit.Clear(c.CustomerID, *c.Contact)
	}
	return []Event{placed}, nil
}

func addLine(s State, c AddLine) ([]Event, error) {
	var v kit.Validation
	v.Text("sku", c.SKU, MaxSKULength)
	v.Range("quantity", int64(c.Quantity), MinQuantity, MaxQuantity)
	v.Range("unit_price_cents", c.UnitPriceCents, 0, MaxUnitPriceCents)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if s.Status != StatusPending {
		return nil, ErrNotPending
	}
	if len(s.Lines) >= MaxLines {
		return nil, ErrTooManyLines
	}
	// Quantity and price are bounded above, so their product fits; the running sums
	// are what could overflow after very many lines.
	amount := int64(c.Quantity) * c.UnitPriceCents
	if s.TotalCents > math.MaxInt64-amount || s.UnitCount > math.MaxInt32-c.Quantity {
		return nil, ErrTotalTooLarge
	}
	return []Event{OrderLineAdded{SKU: c.SKU, Quantity: c.Quantity, UnitPriceCents: c.UnitPriceCents, AddedAt: c.At}}, nil
}

func confirm(s State, c Confirm) ([]Event, error) {
	switch s.Status {
	case StatusNone:
		return nil, ErrNotFound
	case StatusConfirmed:
		return nil, nil
	case StatusCancelled:
		return nil, ErrCancelled
	}
	if len(s.Lines) == 0 {
		return nil, ErrNoLines
	}
	return []Event{OrderConfirmed{ConfirmedAt: c.At}}, nil
}

func cancel(s State, c Cancel) ([]Event, error) {
	var v kit.Validation
	v.FreeText("reason", c.Reason, MaxReasonLength)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return cancelling.Decide(s.Status, OrderCancelled{Reason: c.Reason, CancelledAt: c.At})
}

// cancelling: an order in any status is cancelled; again, it is a no-op.
var cancelling = kit.Transition[Status, Event]{To: StatusCancelled, Repeatable: true, NotFound: ErrNotFound}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
