package shipment

import (
	"fmt"

	"github.com/example/orders/domain/kit"
)

// Limits of the rules below, exported for the API contract and tests.
const (
	MaxCarrierLength    = 64
	MaxTrackingNoLength = 64
	MaxSKULength        = 64
	MinQuantity         = 1
	MaxQuantity         = 1000
	MaxReasonLength     = 500
	// MaxCustomerIDLength is the order's limit (order.MaxCustomerIDLength).
	MaxCustomerIDLength = 64
)

// Decider is the shipment aggregate as a value, for the generic command handler.
var Decider = kit.Decider[Command, Event, State]{Decide: Decide, Evolve: Evolve, Initial: Initial()}

// The lifecycle steps: only a pending shipment is dispatched, only a dispatched one
// delivered (again: a no-op), only a pending one cancelled (again: a no-op).
var (
	dispatching = kit.Transition[Status, Event]{From: []Status{StatusPending}, To: StatusDispatched, NotFound: ErrNotFound, Conflict: ErrNotPending}
	delivering  = kit.Transition[Status, Event]{From: []Status{StatusDispatched}, To: StatusDelivered, Repeatable: true, NotFound: ErrNotFound, Conflict: ErrNotDispatched}
	cancelling  = kit.Transition[Status, Event]{From: []Status{StatusPending}, To: StatusCancelled, Repeatable: true, NotFound: ErrNotFound, Conflict: ErrAlreadyDispatched}
)

// Decide turns a command into events or a typed error. No events and no error means
// the command is already satisfied (delivering a delivered shipment, cancelling a
// cancelled one).
func Decide(s State, c Command) ([]Event, error) {
	switch c := c.(type) {
	case CreateShipment:
		return create(s, c)
	case Dispatch:
		return dispatch(s, c)
	case Deliver:
		return deliver(s, c)
	case Cancel:
		return cancel(s, c)
	default:
		return nil, fmt.Errorf("shipment: unknown command %T", c)
	}
}

func create(s State, c CreateShipment) ([]Event, error) {
	var v kit.Validation
	v.ID("order_id", c.OrderID)
	v.Text("customer_id", c.CustomerID, MaxCustomerIDLength)
	if c.ShipmentID != ShipmentIDFor(c.OrderID) {
		v.Add("id", "must be the shipment id derived from order_id")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if s.Exists() {
		return nil, ErrExists
	}
	if !c.OrderConfirmed {
		return nil, ErrOrderNotConfirmed
	}
	if len(c.Items) == 0 {
		v.Add("items", "must not be empty")
	}
	for i, it := range c.Items {
		v.Text(fmt.Sprintf("items[%d].sku", i), it.SKU, MaxSKULength)
		v.Range(fmt.Sprintf("items[%d].quantity", i), int64(it.Quantity), MinQuantity, MaxQuantity)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	items := append([]Item(nil), c.Items...) // the event never shares the caller's array
	created := ShipmentCreated{ShipmentID: c.ShipmentID, OrderID: c.OrderID, CustomerID: c.CustomerID, Items: items, CreatedAt: c.At}
	if c.ShipTo != nil {
		created.ShipTo = kit.Clear(c.CustomerID, *c.ShipTo)
	}
	return []Event{created}, nil
}

func dispatch(s State, c Dispatch) ([]Event, error) {
	var v kit.Validation
	v.Text("carrier", c.Carrier, MaxCarrierLength)
	v.Text("tracking_no", c.TrackingNo, MaxTrackingNoLength)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return dispatching.Decide(s.Status, ShipmentDispatched{Carrier: c.Carrier, TrackingNo: c.TrackingNo, DispatchedAt: c.At})
}

func deliver(s State, c Deliver) ([]Event, error) {
	return delivering.Decide(s.Status, ShipmentDelivered{DeliveredAt: c.At})
}

func cancel(s State, c Cancel) ([]Event, error) {
	var v kit.Validation
	v.FreeText("reason", c.Reason, MaxReasonLength)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return cancelling.Decide(s.Status, ShipmentCancelled{Reason: c.Reason, CancelledAt: c.At})
}
