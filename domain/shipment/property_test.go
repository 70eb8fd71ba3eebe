package shipment_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/shipment"
)

var allowed = map[[2]shipment.Status]bool{
	{shipment.StatusNone, shipment.StatusPending}:         true,
	{shipment.StatusPending, shipment.StatusDispatched}:   true,
	{shipment.StatusDispatched, shipment.StatusDelivered}: true,
	{shipment.StatusPending, shipment.StatusCancelled}:    true,
}

func drawCommand(t *rapid.T, when time.Time) shipment.Command {
	text := rapid.SampledFrom([]string{"DHL", "", " ", "x\x00", "UPS-1"})
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		n := rapid.IntRange(0, 3).Draw(t, "items")
		its := make([]shipment.Item, n)
		for i := range its {
			its[i] = shipment.Item{SKU: text.Draw(t, "sku"), Quantity: rapid.IntRange(0, 3).Draw(t, "qty")}
		}
		return shipment.CreateShipment{ShipmentID: shipmentID, OrderID: orderID, CustomerID: customerID, Items: its,
			OrderConfirmed: rapid.Bool().Draw(t, "confirmed"), At: when}
	case 1:
		return shipment.Dispatch{Carrier: text.Draw(t, "carrier"), TrackingNo: text.Draw(t, "tracking"), At: when}
	case 2:
		return shipment.Deliver{At: when}
	default:
		return shipment.Cancel{Reason: rapid.SampledFrom([]string{"", "why\n", "bad\x1b"}).Draw(t, "reason"), At: when}
	}
}

func cloneState(s shipment.State) shipment.State {
	s.Items = slices.Clone(s.Items)
	return s
}

// Random command sequences: the status only moves along the allowed edges, Decide
// never changes the state it is given, and every error is one of the kit's kinds.
func TestPropertyStatusMovesOnlyAlongAllowedEdges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := shipment.Decider.Initial
		for step := range rapid.IntRange(0, 30).Draw(t, "steps") {
			cmd := drawCommand(t, t0.Add(time.Duration(step)*time.Second))
			before := cloneState(s)
			events, err := shipment.Decider.Decide(s, cmd)
			if !reflect.DeepEqual(s, before) {
				t.Fatalf("step %d: Decide changed its state", step)
			}
			var ve *kit.ValidationError
			var ce *kit.ConflictError
			switch {
			case err == nil:
			case errors.As(err, &ve), errors.Is(err, kit.ErrNotFound), errors.As(err, &ce):
				if len(events) > 0 {
					t.Fatalf("step %d: events with an error", step)
				}
				continue
			default:
				t.Fatalf("step %d: %T -> untyped error %v", step, cmd, err)
			}
			next := shipment.Decider.Fold(s, events...)
			if !reflect.DeepEqual(s, before) {
				t.Fatalf("step %d: Fold changed its input", step)
			}
			if next.Status != s.Status && !allowed[[2]shipment.Status{s.Status, next.Status}] {
				t.Fatalf("step %d: %T moved the shipment from %q to %q", step, cmd, s.Status, next.Status)
			}
			if len(events) == 0 && !reflect.DeepEqual(next, s) {
				t.Fatalf("step %d: a no-op changed the state", step)
			}
			s = next
		}
	})
}
