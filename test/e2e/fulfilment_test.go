package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/shipment"
)

// TestFulfilmentCreatesTheShipment: confirming an order over HTTP makes the fulfilment
// process manager create its shipment, whose history links back to the order: caused by
// the OrderConfirmed event, correlated with the order's requests.
func TestFulfilmentCreatesTheShipment(t *testing.T) {
	t.Parallel()
	base := startServer(t, map[string]string{"RUN_CONSUMERS": "true"})
	placed := do(t, http.MethodPost, base+"/orders", `{"customer_id":"ful","currency":"EUR"}`, "X-Correlation-ID", "checkout-77")
	if placed.Status != http.StatusCreated {
		t.Fatalf("place: %s", placed)
	}
	loc := placed.Header.Get("Location")
	orderID := uuid.MustParse(strings.TrimPrefix(loc, "/orders/"))
	do(t, http.MethodPost, base+loc+"/lines", `{"sku":"a","quantity":1,"unit_price_cents":100}`, "X-Correlation-ID", "checkout-77")
	if r := do(t, http.MethodPost, base+loc+"/confirm", "", "X-Correlation-ID", "checkout-77"); r.Status != http.StatusOK {
		t.Fatalf("confirm: %s", r)
	}
	type events struct {
		Items []struct {
			EventID  string         `json:"event_id"`
			Type     string         `json:"type"`
			Metadata map[string]any `json:"metadata"`
		} `json:"items"`
	}
	var orderEvents events
	if err := json.Unmarshal(do(t, http.MethodGet, base+loc+"/events", "").Body, &orderEvents); err != nil {
		t.Fatal(err)
	}
	confirmed := orderEvents.Items[len(orderEvents.Items)-1]
	shipmentEvents := base + "/shipments/" + shipment.ShipmentIDFor(orderID).String() + "/events"
	deadline := time.Now().Add(15 * time.Second)
	var r *response
	for r = do(t, http.MethodGet, shipmentEvents, ""); r.Status != http.StatusOK; r = do(t, http.MethodGet, shipmentEvents, "") {
		if time.Now().After(deadline) {
			t.Fatalf("no shipment for the confirmed order: %s", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var sh events
	if err := json.Unmarshal(r.Body, &sh); err != nil {
		t.Fatal(err)
	}
	if len(sh.Items) != 1 || sh.Items[0].Type != "ShipmentCreated" ||
		sh.Items[0].Metadata["causation_id"] != confirmed.EventID || sh.Items[0].Metadata["correlation_id"] != "checkout-77" {
		t.Fatalf("shipment history %s, want ShipmentCreated caused by %s, correlated checkout-77", r.Body, confirmed.EventID)
	}
}
