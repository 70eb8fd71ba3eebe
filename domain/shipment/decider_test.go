package shipment_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit/kittest"
	"github.com/example/orders/domain/shipment"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

var (
	orderID    = uuid.MustParse("0b9f6a4e-2c1d-4e8a-9f3b-5d7c1a2e4f60")
	shipmentID = shipment.ShipmentIDFor(orderID)
	customerID = "alice"
	items      = []shipment.Item{{SKU: "SKU-1", Quantity: 2}, {SKU: "SKU-2", Quantity: 1}}
)

type (
	Case = kittest.Case[shipment.Command, shipment.Event]
	evs  = []shipment.Event
)

func created() shipment.Event {
	return shipment.ShipmentCreated{ShipmentID: shipmentID, OrderID: orderID, CustomerID: customerID, Items: items, CreatedAt: at(0)}
}
func dispatched() shipment.Event {
	return shipment.ShipmentDispatched{Carrier: "DHL", TrackingNo: "JD0001", DispatchedAt: at(1)}
}
func delivered() shipment.Event { return shipment.ShipmentDelivered{DeliveredAt: at(2)} }
func cancelled() shipment.Event {
	return shipment.ShipmentCancelled{Reason: "out of stock", CancelledAt: at(2)}
}

// Histories that reach each status.
var (
	none          = evs{}
	pending       = evs{created()}
	dispatchedYet = evs{created(), dispatched()}
	deliveredYet  = evs{created(), dispatched(), delivered()}
	cancelledYet  = evs{created(), cancelled()}
)

func create() shipment.CreateShipment {
	return shipment.CreateShipment{ShipmentID: shipmentID, OrderID: orderID, CustomerID: customerID, Items: items, OrderConfirmed: true, At: at(10)}
}

func createWith(f func(*shipment.CreateShipment)) shipment.CreateShipment {
	c := create()
	f(&c)
	return c
}

func TestCreateShipment(t *testing.T) {
	kittest.Run(t, shipment.Decider, []Case{
		{Name: "creates a pending shipment of the order's items, for the order's customer", Given: none, When: create(),
			Then: evs{shipment.ShipmentCreated{ShipmentID: shipmentID, OrderID: orderID, CustomerID: customerID, Items: items, CreatedAt: at(10)}}},
		{Name: "a shipment without a customer is rejected", Given: none,
			When: createWith(func(c *shipment.CreateShipment) { c.CustomerID = " " }), WantFields: []string{"customer_id"}},
		{Name: "a customer id longer than the order's limit is rejected", Given: none,
			When:       createWith(func(c *shipment.CreateShipment) { c.CustomerID = strings.Repeat("c", shipment.MaxCustomerIDLength+1) }),
			WantFields: []string{"customer_id"}},
		{Name: "an existing shipment is not created again", Given: pending, When: create(), WantErr: shipment.ErrExists},
		{Name: "exists wins over a dispatched shipment too", Given: dispatchedYet, When: create(), WantErr: shipment.ErrExists},
		{Name: "exists is answered before the order's status", Given: cancelledYet,
			When: createWith(func(c *shipment.CreateShipment) { c.OrderConfirmed = false }), WantErr: shipment.ErrExists},
		{Name: "an order that is not confirmed is not shipped", Given: none,
			When: createWith(func(c *shipment.CreateShipment) { c.OrderConfirmed = false }), WantErr: shipment.ErrOrderNotConfirmed},
		{Name: "the nil order id is rejected", Given: none,
			When: createWith(func(c *shipment.CreateShipment) {
				c.OrderID = uuid.Nil
				c.ShipmentID = shipment.ShipmentIDFor(uuid.Nil)
			}),
			WantFields: []string{"order_id"}},
		{Name: "an id not derived from the order id is rejected", Given: none,
			When: createWith(func(c *shipment.CreateShipment) { c.ShipmentID = uuid.New() }), WantFields: []string{"id"}},
		{Name: "no items is rejected", Given: none,
			When: createWith(func(c *shipment.CreateShipment) { c.Items = nil }), WantFields: []string{"items"}},
		{Name: "bad items are named one by one", Given: none,
			When: createWith(func(c *shipment.CreateShipment) {
				c.Items = []shipment.Item{{SKU: " ", Quantity: 1}, {SKU: "ok", Quantity: 0}, {SKU: strings.Repeat("s", 65), Quantity: 1001}}
			}),
			WantFields: []string{"items[0].sku", "items[1].quantity", "items[2].sku", "items[2].quantity"}},
	})
}

func dispatch(carrier, tracking string) shipment.Dispatch {
	return shipment.Dispatch{Carrier: carrier, TrackingNo: tracking, At: at(10)}
}

func TestDispatch(t *testing.T) {
	kittest.Run(t, shipment.Decider, []Case{
		{Name: "dispatches a pending shipment", Given: pending, When: dispatch("DHL", "JD1"),
			Then: evs{shipment.ShipmentDispatched{Carrier: "DHL", TrackingNo: "JD1", DispatchedAt: at(10)}}},
		{Name: "64 characters are accepted", Given: pending, When: dispatch(strings.Repeat("é", 64), strings.Repeat("9", 64)),
			Then: evs{shipment.ShipmentDispatched{Carrier: strings.Repeat("é", 64), TrackingNo: strings.Repeat("9", 64), DispatchedAt: at(10)}}},
		{Name: "a missing shipment is not found", Given: none, When: dispatch("DHL", "JD1"), WantErr: shipment.ErrNotFound},
		{Name: "a dispatched shipment is not dispatched again", Given: dispatchedYet, When: dispatch("DHL", "JD1"), WantErr: shipment.ErrNotPending},
		{Name: "a delivered shipment is not dispatched", Given: deliveredYet, When: dispatch("DHL", "JD1"), WantErr: shipment.ErrNotPending},
		{Name: "a cancelled shipment is not dispatched", Given: cancelledYet, When: dispatch("DHL", "JD1"), WantErr: shipment.ErrNotPending},
		{Name: "blank carrier and tracking number are rejected", Given: pending, When: dispatch(" ", ""), WantFields: []string{"carrier", "tracking_no"}},
		{Name: "65 characters are rejected", Given: pending, When: dispatch(strings.Repeat("c", 65), strings.Repeat("t", 65)), WantFields: []string{"carrier", "tracking_no"}},
		{Name: "control characters are rejected", Given: pending, When: dispatch("DH\nL", "JD\x001"), WantFields: []string{"carrier", "tracking_no"}},
		{Name: "validation comes before existence", Given: none, When: dispatch("", "JD1"), WantFields: []string{"carrier"}},
	})
}

func TestDeliver(t *testing.T) {
	deliver := shipment.Deliver{At: at(10)}
	kittest.Run(t, shipment.Decider, []Case{
		{Name: "delivers a dispatched shipment", Given: dispatchedYet, When: deliver, Then: evs{shipment.ShipmentDelivered{DeliveredAt: at(10)}}},
		{Name: "delivering a delivered shipment is a no-op", Given: deliveredYet, When: deliver},
		{Name: "a pending shipment is not delivered", Given: pending, When: deliver, WantErr: shipment.ErrNotDispatched},
		{Name: "a cancelled shipment is not delivered", Given: cancelledYet, When: deliver, WantErr: shipment.ErrNotDispatched},
		{Name: "a missing shipment is not found", Given: none, When: deliver, WantErr: shipment.ErrNotFound},
	})
}

func TestCancel(t *testing.T) {
	cancel := func(reason string) shipment.Cancel { return shipment.Cancel{Reason: reason, At: at(10)} }
	kittest.Run(t, shipment.Decider, []Case{
		{Name: "cancels a pending shipment", Given: pending, When: cancel("no stock"),
			Then: evs{shipment.ShipmentCancelled{Reason: "no stock", CancelledAt: at(10)}}},
		{Name: "an empty reason is fine", Given: pending, When: cancel(""), Then: evs{shipment.ShipmentCancelled{CancelledAt: at(10)}}},
		{Name: "a reason with line breaks and 500 characters is fine", Given: pending, When: cancel("a\nb\t" + strings.Repeat("r", 496)),
			Then: evs{shipment.ShipmentCancelled{Reason: "a\nb\t" + strings.Repeat("r", 496), CancelledAt: at(10)}}},
		{Name: "cancelling a cancelled shipment is a no-op", Given: cancelledYet, When: cancel("again")},
		{Name: "a dispatched shipment is not cancelled", Given: dispatchedYet, When: cancel(""), WantErr: shipment.ErrAlreadyDispatched},
		{Name: "a delivered shipment is not cancelled", Given: deliveredYet, When: cancel(""), WantErr: shipment.ErrAlreadyDispatched},
		{Name: "a missing shipment is not found", Given: none, When: cancel(""), WantErr: shipment.ErrNotFound},
		{Name: "501 characters are rejected", Given: pending, When: cancel(strings.Repeat("r", 501)), WantFields: []string{"reason"}},
		{Name: "a NUL is rejected", Given: pending, When: cancel("a\x00"), WantFields: []string{"reason"}},
	})
}

func TestShipmentIDForIsStableAndPerOrder(t *testing.T) {
	if shipment.ShipmentIDFor(orderID) != shipmentID {
		t.Fatal("ShipmentIDFor is not deterministic")
	}
	if got := shipment.ShipmentIDFor(orderID); got.Version() != 5 {
		t.Errorf("version %d, want a UUIDv5", got.Version())
	}
	if shipment.ShipmentIDFor(uuid.New()) == shipmentID {
		t.Error("two orders share a shipment id")
	}
	// Pinned: changing the namespace would orphan every stored shipment.
	if got, want := shipment.ShipmentIDFor(orderID).String(), pinnedID; got != want {
		t.Errorf("ShipmentIDFor(%s) = %s, want %s", orderID, got, want)
	}
}

const pinnedID = "2eed4c61-408c-52fc-9eb8-b10ee0232358"

// The shipment keeps its order's customer: the reads are restricted by it.
func TestEvolveKeepsTheCustomer(t *testing.T) {
	st := shipment.Decider.Fold(shipment.Decider.Initial, deliveredYet...)
	if st.CustomerID != customerID || st.OrderID != orderID {
		t.Fatalf("state %+v, want customer %q of order %s", st, customerID, orderID)
	}
}
