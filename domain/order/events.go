package order

import (
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// Event is one of the facts below. Events are plain data: the JSON tags are their
// wire shape, and how they are named and versioned in storage is the codec's business.
type Event interface{ isEvent() }

// OrderPlaced starts every order's stream.
type OrderPlaced struct {
	OrderID    uuid.UUID `json:"order_id"`
	CustomerID string    `json:"customer_id"`
	Currency   string    `json:"currency"`
	// Contact is the customer's personal data, if the order came with it; the log
	// keeps it sealed (kit.Personal). Orders placed before it existed have none.
	Contact  kit.Personal[Contact] `json:"contact,omitzero"`
	PlacedAt time.Time             `json:"placed_at"`
}

// OrderLineAdded records one AddLine. Lines are kept in the order they were added; adding
// the same SKU twice gives two lines, as on a till receipt.
type OrderLineAdded struct {
	SKU            string    `json:"sku"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unit_price_cents"`
	AddedAt        time.Time `json:"added_at"`
}

// OrderConfirmed closes the order for changes.
type OrderConfirmed struct {
	ConfirmedAt time.Time `json:"confirmed_at"`
}

// OrderCancelled ends the order. Reason may be empty.
type OrderCancelled struct {
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelled_at"`
}

func (OrderPlaced) isEvent()    {}
func (OrderLineAdded) isEvent() {}
func (OrderConfirmed) isEvent() {}
func (OrderCancelled) isEvent() {}
