package customersummary_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The projection equals a fold of the log (verify finds nothing), reflects the
// position a command reported once it has been waited for, ignores events it has
// already applied after a reset, and verify reports a tampered row.
func TestCustomerSummaryMatchesTheLog(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	app := testsupport.NewApp(t, pool)
	reader := customersummary.NewReader(pool)
	get := application.NewGetCustomerSummaryHandler(reader)

	// Nothing built yet: a wait for a position answers BehindError.
	if _, _, err := get.Handle(ctx, "alice", 1, 50*time.Millisecond); err == nil {
		t.Fatal("a read model that does not exist yet met min_position")
	}
	var last int64
	for i := range 6 {
		id := uuid.New()
		res, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: []string{"alice", "bob"}[i%2], Currency: []string{"EUR", "USD", "EUR"}[i%3]})
		if err != nil {
			t.Fatal(err)
		}
		res, err = app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "x", Quantity: i + 1, UnitPriceCents: 100})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 2 {
			if res, err = app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if i == 3 {
			if res, err = app.Orders.CancelOrder(ctx, application.CancelOrder{OrderID: id}); err != nil {
				t.Fatal(err)
			}
		}
		last = res.View.Position
	}
	if last <= 0 {
		t.Fatalf("commands report position %d", last)
	}
	opts := subscription.Options{PollInterval: 20 * time.Millisecond, LockRetry: 50 * time.Millisecond}
	rt := subscription.New(pool.Config().ConnConfig, opts, customersummary.Consumer(codec))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); rt.Run(rctx) }()
	defer func() { cancel(); <-done }()

	sum, pos, err := get.Handle(ctx, "alice", last, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// alice: orders 0 (EUR 100, confirmed), 2 (EUR 300, pending), 4 (USD 500, confirmed)
	if pos < last || sum.OrdersPlaced != 3 || sum.OrdersConfirmed != 2 || sum.OrdersCancelled != 0 ||
		sum.ConfirmedTotals["EUR"] != 100 || sum.ConfirmedTotals["USD"] != 500 {
		t.Fatalf("alice at %d: %+v", pos, sum)
	}
	verify := func() (diffs []string) {
		t.Helper()
		if _, err := customersummary.Verify(ctx, pool, codec, func(d string) { diffs = append(diffs, d) }); err != nil {
			t.Fatal(err)
		}
		return diffs
	}
	if d := verify(); len(d) != 0 {
		t.Fatalf("differences: %v", d)
	}
	// Re-applying every event (reset to 0) changes nothing.
	if err := subscription.Reset(ctx, pool, customersummary.ConsumerName(customersummary.Version), 0); err != nil {
		t.Fatal(err)
	}
	rt.Wake()
	deadline := time.Now().Add(10 * time.Second)
	for p, _ := reader.Position(ctx); p < last; p, _ = reader.Position(ctx) {
		if time.Now().After(deadline) {
			t.Fatal("no catch-up after reset")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := verify(); len(d) != 0 {
		t.Fatalf("differences after a reset re-applied the log: %v", d)
	}
	if _, err := pool.Exec(ctx, `UPDATE `+customersummary.Table(customersummary.Version)+` SET total_cents = total_cents + 1 WHERE customer_id = 'bob' AND status = 'confirmed'`); err != nil {
		t.Fatal(err)
	}
	if d := verify(); len(d) != 1 {
		t.Fatalf("verify found %d differences after tampering with one row, want 1: %v", len(d), d)
	}
}

// A row that is not at the version before the event (here set back by hand, as a lost
// update would leave it) is not updated: the consumer stops at the event with the
// reason, and a reset after repairing the row resumes it.
func TestCustomerSummaryStopsAtAVersionItCannotApply(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	app := testsupport.NewApp(t, pool)
	name := customersummary.ConsumerName(customersummary.Version)
	rt := subscription.New(pool.Config().ConnConfig, subscription.Options{PollInterval: 10 * time.Millisecond, MaxAttempts: 2,
		RetryBase: time.Millisecond, LockRetry: 50 * time.Millisecond}, customersummary.Consumer(codec))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); rt.Run(rctx) }()
	defer func() { cancel(); <-done }()
	id := uuid.New()
	placed, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "dora", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := application.NewGetCustomerSummaryHandler(customersummary.NewReader(pool)).Handle(ctx, "dora", placed.View.Position, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE `+customersummary.Table(customersummary.Version)+` SET last_version = 0 WHERE order_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	line, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "x", Quantity: 1, UnitPriceCents: 100})
	if err != nil {
		t.Fatal(err)
	}
	status := func() subscription.Status { return consumerStatus(t, pool, name) }
	deadline := time.Now().Add(10 * time.Second)
	for !status().Stopped {
		if time.Now().After(deadline) {
			t.Fatalf("consumer did not stop: %+v", status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := status()
	if s.ErrorPosition != line.View.Position || !strings.Contains(s.Error, "order "+id.String()+" is at version 0, so version 2 is not the next one") {
		t.Fatalf("stopped with %+v, want the out-of-order version at %d", s, line.View.Position)
	}
	var total int64
	if err := pool.QueryRow(ctx, `SELECT total_cents FROM `+customersummary.Table(customersummary.Version)+` WHERE order_id = $1`, id).Scan(&total); err != nil || total != 0 {
		t.Fatalf("the line was applied anyway: total %d, %v", total, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE `+customersummary.Table(customersummary.Version)+` SET last_version = 1 WHERE order_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := subscription.Reset(ctx, pool, name, s.Position); err != nil {
		t.Fatal(err)
	}
	rt.Wake()
	if sum, _, err := application.NewGetCustomerSummaryHandler(customersummary.NewReader(pool)).Handle(ctx, "dora", line.View.Position, 10*time.Second); err != nil || sum.OrdersPlaced != 1 {
		t.Fatalf("after repair and reset: %+v %v", sum, err)
	}
	if err := pool.QueryRow(ctx, `SELECT total_cents FROM `+customersummary.Table(customersummary.Version)+` WHERE order_id = $1`, id).Scan(&total); err != nil || total != 100 {
		t.Fatalf("total %d after the reset, want 100 (%v)", total, err)
	}
}
