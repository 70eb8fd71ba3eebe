package reliability

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/domain/shipment"
)

// checkFulfilment: once the consumers have caught up (checkConsumers), every order
// confirmed and not cancelled has exactly one shipment, created once; a cancelled one
// has none or a cancelled one.
func checkFulfilment(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT o.stream_id,
			bool_or(o.event_type = 'OrderConfirmed'), bool_or(o.event_type = 'OrderCancelled')
		FROM events o WHERE o.stream_type = 'order' GROUP BY o.stream_id`)
	if err != nil {
		t.Fatal(err)
	}
	type orderFacts struct{ confirmed, cancelled bool }
	orders := map[string]orderFacts{}
	for rows.Next() {
		var id string
		var f orderFacts
		if err := rows.Scan(&id, &f.confirmed, &f.cancelled); err != nil {
			t.Fatal(err)
		}
		orders[id] = f
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	shipments := map[string][]string{}
	rows, err = pool.Query(ctx, `SELECT stream_id, event_type FROM events WHERE stream_type = 'shipment' ORDER BY stream_id, stream_version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, typ string
		if err := rows.Scan(&id, &typ); err != nil {
			t.Fatal(err)
		}
		shipments[id] = append(shipments[id], typ)
	}
	confirmed := 0
	for id, f := range orders {
		sh := shipments[shipment.ShipmentIDFor(uuid.MustParse(id)).String()]
		switch {
		case f.confirmed && !f.cancelled:
			confirmed++
			if len(sh) != 1 || sh[0] != "ShipmentCreated" {
				t.Errorf("confirmed order %s: shipment events %v, want [ShipmentCreated]", id, sh)
			}
		case f.cancelled && len(sh) > 0:
			if len(sh) != 2 || sh[0] != "ShipmentCreated" || sh[1] != "ShipmentCancelled" {
				t.Errorf("cancelled order %s: shipment events %v, want none or created+cancelled", id, sh)
			}
		case !f.confirmed && len(sh) > 0:
			t.Errorf("unconfirmed order %s has shipment events %v", id, sh)
		}
	}
	t.Logf("%d orders (%d confirmed and shipped); the shipments agree with them", len(orders), confirmed)
}

// The fulfilment checks of TestHotOrdersKeepStreamOrder (stream_order_test.go).

// waitFulfilment places and confirms a last order, after every other command
// committed, and waits until the fulfilment reactor has shipped it: it has then handled
// every event before it.
func waitFulfilment(t *testing.T, l *load, rng *rand.Rand, svcs []*service) {
	t.Helper()
	last := l.exec(context.Background(), rng, 0, kindPlace, uuid.New(), 0)
	for _, k := range []kind{kindAdd, kindConfirm} {
		if c := l.exec(context.Background(), rng, len(svcs)-1, k, last.OrderID, 0); c.Outcome != acked {
			t.Fatalf("the last order: %s", c)
		}
	}
	waitShipped(t, svcs[0].URL, last.OrderID, time.Minute)
}

// waitShipped waits until the order's shipment exists.
func waitShipped(t *testing.T, base string, orderID uuid.UUID, within time.Duration) {
	t.Helper()
	url := base + "/shipments/" + shipment.ShipmentIDFor(orderID).String() + "/events"
	for deadline := time.Now().Add(within); ; {
		r := mustSend(t, http.MethodGet, url, nil)
		if r.Status == http.StatusOK {
			return
		}
		if r.Status != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("the fulfilment reactor did not ship order %s within %v: %s", orderID, within, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkShipmentsFold: an order confirmed and not cancelled has its one shipment, created
// once; one cancelled after it was confirmed has its shipment created and cancelled, or
// none (cancelled before the reactor handled its OrderConfirmed); any other has none.
func checkShipmentsFold(t *testing.T, snap *snapshot) {
	t.Helper()
	shipped := 0
	for id, evs := range snap.orders {
		var confirmed, cancelled bool
		for _, e := range evs {
			confirmed = confirmed || e.typ == "OrderConfirmed"
			cancelled = cancelled || e.typ == "OrderCancelled"
		}
		var got []string
		for _, e := range snap.streams["shipment/"+shipment.ShipmentIDFor(id).String()] {
			got = append(got, e.typ)
		}
		var ok bool
		switch {
		case confirmed && !cancelled:
			ok = slices.Equal(got, []string{"ShipmentCreated"})
			shipped++
		case confirmed:
			ok = len(got) == 0 || slices.Equal(got, []string{"ShipmentCreated", "ShipmentCancelled"})
		default:
			ok = len(got) == 0
		}
		expectData(t, ok, "order %s (confirmed %v, cancelled %v): shipment events %v", id, confirmed, cancelled, got)
	}
	t.Logf("shipments agree with %d orders (%d confirmed and shipped)", len(snap.orders), shipped)
}
