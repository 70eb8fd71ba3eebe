package order

import (
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// Status is where an order is in its life: pending -> confirmed -> cancelled, or
// pending -> cancelled. The zero value means the order does not exist yet.
type Status string

const (
	StatusNone      Status = ""
	StatusPending   Status = "pending"
	StatusConfirmed Status = "confirmed"
	StatusCancelled Status = "cancelled"
)

// Line is one added line of an order.
type Line struct {
	SKU            string
	Quantity       int
	UnitPriceCents int64
}

// State is an order folded from its events. TotalCents and UnitCount are kept as running
// sums so that the decider never has to walk the lines: UnitCount is the number of units
// (the sum of quantities), TotalCents the sum of quantity times unit price. The number
// of lines is len(Lines).
type State struct {
	ID         uuid.UUID
	CustomerID string
	Currency   string
	Contact    kit.Personal[Contact] // sealed once stored: shown by the edge, never decided on
	Status     Status
	Lines      []Line
	TotalCents int64
	UnitCount  int
	PlacedAt   time.Time
	UpdatedAt  time.Time
}

// Initial is the state of an order before its first event.
func Initial() State { return State{} }

// Exists reports whether the order has been placed.
func (s State) Exists() bool { return s.Status != StatusNone }
