package eventcodec_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
)

func TestEveryShipmentEventRoundTrips(t *testing.T) {
	r := eventcodec.NewShipmentRegistry()
	at := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	orderID := uuid.New()
	checkRoundTrips(t, r, []shipment.Event{
		shipment.ShipmentCreated{ShipmentID: shipment.ShipmentIDFor(orderID), OrderID: orderID, CustomerID: "cust-ß ✓",
			Items: []shipment.Item{{SKU: "sku-1", Quantity: 3}, {SKU: "ß-2", Quantity: 1}}, CreatedAt: at,
			ShipTo: kit.Clear("cust-ß ✓", shipment.ShipTo{Name: "Åsa", Line1: "Gatan 1", PostalCode: "111 22", City: "Stockholm", Country: "SE"})},
		shipment.ShipmentDispatched{Carrier: "DHL", TrackingNo: "JD014600", DispatchedAt: at},
		shipment.ShipmentDelivered{DeliveredAt: at},
		shipment.ShipmentCancelled{Reason: "out of stock ✓", CancelledAt: at},
	})
	if _, err := r.Decode("OrderPlaced", 1, []byte(`{}`)); !errors.Is(err, eventcodec.ErrUnknownEvent) {
		t.Errorf("an order event decoded as a shipment event: %v", err)
	}
}

func TestShipmentCreatedWireShape(t *testing.T) {
	r := eventcodec.NewShipmentRegistry()
	id := uuid.MustParse("0b9f6a4e-2c1d-4e8a-9f3b-5d7c1a2e4f60")
	_, _, payload, err := r.Encode(shipment.ShipmentCreated{ShipmentID: id, OrderID: id, CustomerID: "cust-42",
		Items: []shipment.Item{{SKU: "a", Quantity: 2}}, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"shipment_id":"0b9f6a4e-2c1d-4e8a-9f3b-5d7c1a2e4f60","order_id":"0b9f6a4e-2c1d-4e8a-9f3b-5d7c1a2e4f60","customer_id":"cust-42","items":[{"sku":"a","quantity":2}],"created_at":"2026-01-02T03:04:05Z"}`
	if string(payload) != want {
		t.Errorf("payload %s, want %s", payload, want)
	}
}

func TestTheShipmentRegistryIsComplete(t *testing.T) {
	if err := eventcodec.NewShipmentRegistry().Check(); err != nil {
		t.Fatal(err)
	}
}

// The JSON shape of every shipment event, pinned as the order events' are.
func TestShipmentPayloadShapesMatchTheirGolden(t *testing.T) {
	checkPayloadShapes(t, eventcodec.NewShipmentRegistry(), filepath.Join("testdata", "payloads", "shipment"))
}
