package shipment

import (
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// Status is where a shipment is: pending -> dispatched -> delivered, or pending ->
// cancelled. The zero value means the shipment does not exist yet.
type Status string

const (
	StatusNone       Status = ""
	StatusPending    Status = "pending"
	StatusDispatched Status = "dispatched"
	StatusDelivered  Status = "delivered"
	StatusCancelled  Status = "cancelled"
)

// Item is one shipped line: quantity units of a SKU.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// ShipTo is the recipient and postal address a shipment goes to (the order's contact
// without its email); Country is an ISO 3166-1 alpha-2 code.
type ShipTo struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Country    string `json:"country"`
}

// State is a shipment folded from its events. Items is set once, by ShipmentCreated,
// and never written into afterwards.
type State struct {
	ID         uuid.UUID
	OrderID    uuid.UUID
	CustomerID string // the order's customer
	Status     Status
	Items      []Item
	ShipTo     kit.Personal[ShipTo] // sealed once stored: staff read it opened, to dispatch
	Carrier    string
	TrackingNo string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Initial is the state of a shipment before its first event.
func Initial() State { return State{} }

// Exists reports whether the shipment has been created.
func (s State) Exists() bool { return s.Status != StatusNone }

// namespace is the fixed UUIDv5 namespace of shipment ids. Never change it: every
// stored shipment's id was derived in it.
var namespace = uuid.MustParse("5a0c6a1e-3f4b-4c52-9d1e-8b7f2e6d4c31")

// ShipmentIDFor is the id of the shipment of an order: a UUIDv5 of the order id, so
// that an order has at most one shipment and creating it is safe to repeat.
func ShipmentIDFor(orderID uuid.UUID) uuid.UUID { return uuid.NewSHA1(namespace, orderID[:]) }
