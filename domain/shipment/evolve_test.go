package shipment_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/example/orders/domain/shipment"
)

func TestInitialIsTheZeroState(t *testing.T) {
	s := shipment.Initial()
	if !reflect.DeepEqual(s, shipment.State{}) || s.Exists() {
		t.Errorf("Initial() = %+v (exists %v), want the zero State", s, s.Exists())
	}
}

// Given the events so far, then the state: every field each event sets, pinned, along
// both paths a shipment can take. A field that Evolve forgets or mixes up fails here.
func TestEvolveLifeCycle(t *testing.T) {
	pendingState := shipment.State{
		ID: shipmentID, OrderID: orderID, CustomerID: customerID, Status: shipment.StatusPending,
		Items: items, CreatedAt: at(0), UpdatedAt: at(0),
	}
	dispatchedState := pendingState
	dispatchedState.Status, dispatchedState.Carrier, dispatchedState.TrackingNo, dispatchedState.UpdatedAt = shipment.StatusDispatched, "DHL", "JD0001", at(1)
	deliveredState := dispatchedState
	deliveredState.Status, deliveredState.UpdatedAt = shipment.StatusDelivered, at(2)
	cancelledState := pendingState
	cancelledState.Status, cancelledState.UpdatedAt = shipment.StatusCancelled, at(2)

	for _, path := range []struct {
		name  string
		given []shipment.Event
		then  []shipment.State // the state after each event
	}{
		{"delivered", deliveredYet, []shipment.State{pendingState, dispatchedState, deliveredState}},
		{"cancelled", cancelledYet, []shipment.State{pendingState, cancelledState}},
	} {
		evolved := shipment.Initial()
		for i, e := range path.given {
			evolved = shipment.Evolve(evolved, e)
			if !reflect.DeepEqual(evolved, path.then[i]) {
				t.Errorf("%s, after %T: Evolve\n got %+v\nwant %+v", path.name, e, evolved, path.then[i])
			}
			if folded := shipment.Decider.Fold(shipment.Decider.Initial, path.given[:i+1]...); !reflect.DeepEqual(folded, path.then[i]) {
				t.Errorf("%s, after %T: Fold\n got %+v\nwant %+v", path.name, e, folded, path.then[i])
			}
		}
	}
}

// The times come from the events, not from the order they are folded in: a dispatch
// recorded with an earlier time than creation still sets UpdatedAt to its own time.
func TestEvolveTakesEachEventsTime(t *testing.T) {
	s := shipment.Decider.Fold(shipment.Initial(), created(), shipment.ShipmentDispatched{Carrier: "UPS", TrackingNo: "1Z", DispatchedAt: at(-5)})
	if !s.UpdatedAt.Equal(at(-5)) || !s.CreatedAt.Equal(at(0)) || s.Carrier != "UPS" || s.TrackingNo != "1Z" {
		t.Errorf("state %+v", s)
	}
}

// The state's items are its own: changing the event's items afterwards (or the state's)
// does not reach the other.
func TestEvolveDoesNotShareItems(t *testing.T) {
	event := shipment.ShipmentCreated{ShipmentID: shipmentID, OrderID: orderID, CustomerID: customerID,
		Items: []shipment.Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}}, CreatedAt: at(0)}
	s := shipment.Evolve(shipment.Initial(), event)
	event.Items[0].Quantity = 99
	if !slices.Equal(s.Items, []shipment.Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}}) {
		t.Fatalf("the state's items changed with the event's: %+v", s.Items)
	}
	s.Items[1].SKU = "Z"
	if event.Items[1].SKU != "B" {
		t.Fatalf("the event's items changed with the state's: %+v", event.Items)
	}
}
