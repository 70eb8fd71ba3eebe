package fulfilment_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/fulfilment"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/shipmentstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type fixture struct {
	pool *pgxpool.Pool
	app  application.App
	pm   *application.Fulfilment
}

func newFixture(t *testing.T) fixture {
	pool := pgtest.NewPool(t)
	codec := eventcodec.NewOrderRegistry()
	orders := orderstore.NewQueries(pool, codec)
	app := testsupport.NewApp(t, pool)
	sc := eventcodec.NewShipmentRegistry()
	app.Shipments = application.NewShipments(shipmentstore.NewStore(pool, sc), shipmentstore.NewQueries(pool, sc), orders, appkit.RunnerConfig{})
	pm := application.NewFulfilment(app.Shipments, nil)
	rt := subscription.New(pool.Config().ConnConfig, subscription.Options{PollInterval: 20 * time.Millisecond, LockRetry: 50 * time.Millisecond},
		fulfilment.Consumer(pm, codec))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rt.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return fixture{pool, app, pm}
}

func (f fixture) confirmedOrder(t *testing.T, correlation string) uuid.UUID {
	t.Helper()
	ctx := appkit.WithMetadata(appkit.AsSystem(context.Background()), appkit.Metadata{CorrelationID: correlation, CausationID: correlation})
	id := uuid.New()
	if _, err := f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "c", Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1, UnitPriceCents: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f fixture) caughtUp(t *testing.T) {
	t.Helper()
	var last int64
	_ = f.pool.QueryRow(context.Background(), `SELECT max(global_position) FROM events`).Scan(&last)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pos int64
		_ = f.pool.QueryRow(context.Background(), `SELECT coalesce((SELECT position FROM consumer_checkpoints WHERE name = 'fulfilment'), 0)`).Scan(&pos)
		if pos >= last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fulfilment at %d, log at %d", pos, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f fixture) shipmentEvents(t *testing.T, orderID uuid.UUID) []appkit.RecordedEvent[shipment.Event] {
	t.Helper()
	h, err := f.app.Shipments.History(appkit.AsSystem(context.Background()), appkit.HistoryQuery{ID: shipment.ShipmentIDFor(orderID)})
	if err != nil {
		t.Fatal(err)
	}
	return h.Items
}

// OrderConfirmed creates the order's shipment, caused by that event and correlated with
// the order's commands; OrderCancelled cancels a pending one and only warns and counts
// for a dispatched one; delivering every event again (a reset) creates and cancels
// nothing twice.
func TestFulfilment(t *testing.T) {
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	a := f.confirmedOrder(t, "corr-a")
	b := f.confirmedOrder(t, "corr-b")
	f.caughtUp(t)

	var confirmedID string
	if err := f.pool.QueryRow(ctx, `SELECT event_id::text FROM events WHERE stream_id = $1 AND event_type = 'OrderConfirmed'`, a.String()).Scan(&confirmedID); err != nil {
		t.Fatal(err)
	}
	var corr, cause string
	if err := f.pool.QueryRow(ctx, `SELECT correlation_id, causation_id FROM events WHERE stream_type = 'shipment' AND stream_id = $1`,
		shipment.ShipmentIDFor(a).String()).Scan(&corr, &cause); err != nil {
		t.Fatalf("no shipment for order a: %v", err)
	}
	if corr != "corr-a" || cause != confirmedID {
		t.Fatalf("shipment correlation %q causation %q, want corr-a and %s", corr, cause, confirmedID)
	}

	if _, err := f.app.Shipments.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: shipment.ShipmentIDFor(b), Carrier: "dhl", TrackingNo: "1"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uuid.UUID{a, b} {
		if _, err := f.app.Orders.CancelOrder(ctx, application.CancelOrder{OrderID: id, Reason: "no"}); err != nil {
			t.Fatal(err)
		}
	}
	f.caughtUp(t)
	if ev := f.shipmentEvents(t, a); len(ev) != 2 || ev[1].Type != "ShipmentCancelled" {
		t.Fatalf("order a's shipment: %d events, want created + cancelled", len(ev))
	}
	if ev := f.shipmentEvents(t, b); len(ev) != 2 || ev[1].Type != "ShipmentDispatched" {
		t.Fatalf("order b's shipment: %d events, want created + dispatched", len(ev))
	}
	if n := f.pm.CancelledAfterDispatch.Load(); n != 1 {
		t.Fatalf("CancelledAfterDispatch = %d, want 1", n)
	}

	var before int
	_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_type = 'shipment'`).Scan(&before)
	if err := subscription.Reset(ctx, f.pool, fulfilment.Name, 0); err != nil {
		t.Fatal(err)
	}
	f.caughtUp(t)
	var after int
	_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_type = 'shipment'`).Scan(&after)
	if after != before {
		t.Fatalf("re-delivery wrote %d more shipment events", after-before)
	}
}
