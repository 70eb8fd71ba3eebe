package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/api"
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

// The fulfilment checks of TestPerStreamOrderUnderContention (stream_order_test.go).

// sentinel places, fills and confirms one more order, of its own customer, and
// returns its id.
func (c *contention) sentinel() uuid.UUID {
	t := c.t
	base := c.servers[len(c.servers)-1].URL
	placed := do(t, http.MethodPost, base+"/orders", fmt.Sprintf(`{"customer_id":"%s-last","currency":"EUR"}`, c.prefix))
	if placed.Status != http.StatusCreated {
		t.Fatalf("place the last order: %s", placed)
	}
	o := decode[api.Order](t, "place", placed.Body)
	for _, r := range []*response{
		do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/lines", `{"sku":"last","quantity":1,"unit_price_cents":100}`),
		do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/confirm", ""),
	} {
		if r.Status != http.StatusOK {
			t.Fatalf("the last order: %s", r)
		}
		c.position(r)
	}
	return o.Id
}

// shipmentEvents returns the types of the events of an order's shipment, none if it
// has none.
func shipmentEvents(t *testing.T, base string, orderID uuid.UUID) []string {
	t.Helper()
	r := do(t, http.MethodGet, base+"/shipments/"+shipment.ShipmentIDFor(orderID).String()+"/events", "")
	if r.Status == http.StatusNotFound {
		return nil
	}
	if r.Status != http.StatusOK {
		t.Fatalf("shipment events of order %s: %s", orderID, r)
	}
	var types []string
	for _, e := range decode[api.EventList](t, "shipment events", r.Body).Items {
		types = append(types, e.Type)
	}
	return types
}

// waitShipment waits until the order's shipment exists.
func waitShipment(t *testing.T, base string, orderID uuid.UUID) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); len(shipmentEvents(t, base, orderID)) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the fulfilment reactor did not ship order %s within 30s", orderID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkShipments holds each hot order's shipment against its events, once the
// fulfilment reactor has handled them: a confirmed order has its one ShipmentCreated;
// an order cancelled after it was confirmed has its shipment created and cancelled, or
// none (if it was cancelled before the reactor came to its OrderConfirmed); one
// cancelled before it was confirmed has none.
func (c *contention) checkShipments(cl *api.ClientWithResponses) {
	t := c.t
	for _, o := range c.orders {
		var confirmed, cancelled bool
		for _, e := range events(t, cl, o.id) {
			switch e.Type {
			case "OrderConfirmed":
				confirmed = true
			case "OrderCancelled":
				cancelled = true
			}
		}
		got := shipmentEvents(t, c.servers[0].URL, o.id)
		var ok bool
		switch {
		case confirmed && !cancelled:
			ok = slices.Equal(got, []string{"ShipmentCreated"})
		case confirmed && cancelled:
			ok = len(got) == 0 || slices.Equal(got, []string{"ShipmentCreated", "ShipmentCancelled"})
		default:
			ok = len(got) == 0
		}
		if !ok {
			t.Errorf("order %s (confirmed %v, cancelled %v): shipment events %v", o.id, confirmed, cancelled, got)
		}
	}
}
