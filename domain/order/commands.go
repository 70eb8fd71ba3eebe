package order

import (
	"time"

	"github.com/google/uuid"
)

// Command is one of PlaceOrder, AddLine, Confirm or Cancel. The stream the command is
// aimed at is chosen by the caller; only PlaceOrder carries the id, because it is the
// command that gives the order its identity.
type Command interface{ isCommand() }

// PlaceOrder opens a new order for a customer in one currency.
type PlaceOrder struct {
	OrderID    uuid.UUID
	CustomerID string
	Currency   string
	Contact    *Contact // optional: whom the order is for and where it goes
	At         time.Time
}

// AddLine adds quantity units of sku at a unit price, in the order's currency's minor unit.
type AddLine struct {
	SKU            string
	Quantity       int
	UnitPriceCents int64
	At             time.Time
}

// Confirm closes a pending order for changes.
type Confirm struct {
	At time.Time
}

// Cancel ends a pending or confirmed order.
type Cancel struct {
	Reason string
	At     time.Time
}

func (PlaceOrder) isCommand() {}
func (AddLine) isCommand()    {}
func (Confirm) isCommand()    {}
func (Cancel) isCommand()     {}
