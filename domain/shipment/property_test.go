package shipment_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/example/orders/domain/kit/kittest"
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

// Random command sequences: the status only moves along the allowed edges, and the
// decider keeps the kit's promises (kittest.Walk).
func TestPropertyStatusMovesOnlyAlongAllowedEdges(t *testing.T) {
	kittest.Walk(t, shipment.Decider, kittest.Moves[shipment.Command, shipment.State, shipment.Status]{
		Draw: drawCommand, Status: func(s shipment.State) shipment.Status { return s.Status }, Allowed: allowed})
}
