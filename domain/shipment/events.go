package shipment

import (
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// Event is one of the facts below; the JSON tags are their wire shape.
type Event interface{ isEvent() }

// ShipmentCreated starts every shipment's stream.
type ShipmentCreated struct {
	ShipmentID uuid.UUID `json:"shipment_id"`
	OrderID    uuid.UUID `json:"order_id"`
	// CustomerID is the order's customer: who may see the shipment besides staff.
	CustomerID string `json:"customer_id"`
	Items      []Item `json:"items"`
	// ShipTo is where it goes, from the order's contact: the customer's personal data,
	// sealed in the log (kit.Personal). Unset when the order had no contact.
	ShipTo    kit.Personal[ShipTo] `json:"ship_to,omitzero"`
	CreatedAt time.Time            `json:"created_at"`
}

// ShipmentDispatched records the carrier and its tracking number.
type ShipmentDispatched struct {
	Carrier      string    `json:"carrier"`
	TrackingNo   string    `json:"tracking_no"`
	DispatchedAt time.Time `json:"dispatched_at"`
}

// ShipmentDelivered ends a dispatched shipment.
type ShipmentDelivered struct {
	DeliveredAt time.Time `json:"delivered_at"`
}

// ShipmentCancelled ends a pending shipment. Reason may be empty.
type ShipmentCancelled struct {
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelled_at"`
}

func (ShipmentCreated) isEvent()    {}
func (ShipmentDispatched) isEvent() {}
func (ShipmentDelivered) isEvent()  {}
func (ShipmentCancelled) isEvent()  {}
