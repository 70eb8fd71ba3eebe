package shipment

import (
	"time"

	"github.com/google/uuid"
)

// Command is one of CreateShipment, Dispatch, Deliver or Cancel. Only CreateShipment
// carries the id: it gives the shipment its identity.
type Command interface{ isCommand() }

// CreateShipment ships a confirmed order's lines. ShipmentID must be
// ShipmentIDFor(OrderID), so that an order has at most one shipment. OrderConfirmed is
// the order's status as the caller read it: the decider, not the caller, decides what
// an unconfirmed order means, after whether the shipment already exists. CustomerID is
// the order's customer, copied into the shipment so that its reads can be restricted to
// that customer without reading the order.
type CreateShipment struct {
	ShipmentID     uuid.UUID
	OrderID        uuid.UUID
	CustomerID     string
	Items          []Item
	ShipTo         *ShipTo // the order's recipient and address, if it has a contact
	OrderConfirmed bool
	At             time.Time
}

// Dispatch hands a pending shipment to a carrier.
type Dispatch struct {
	Carrier    string
	TrackingNo string
	At         time.Time
}

// Deliver records that a dispatched shipment arrived.
type Deliver struct {
	At time.Time
}

// Cancel ends a shipment that has not been dispatched.
type Cancel struct {
	Reason string
	At     time.Time
}

func (CreateShipment) isCommand() {}
func (Dispatch) isCommand()       {}
func (Deliver) isCommand()        {}
func (Cancel) isCommand()         {}
