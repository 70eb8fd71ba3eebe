package customersummary_test

import (
	"context"
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

// Bumping the version builds the new table from position 0 while the old one serves;
// reads switch when the new one has caught up, and the old table and its checkpoint
// are dropped DropAfter later.
func TestBlueGreenRebuild(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	app := testsupport.NewApp(t, pool)
	reader := customersummary.NewReader(pool)
	get := application.NewGetCustomerSummaryHandler(reader)
	place := func() int64 {
		res, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: uuid.New(), CustomerID: "carol", Currency: "EUR"})
		if err != nil {
			t.Fatal(err)
		}
		return res.View.Position
	}
	run := func(v int) func() {
		rt := subscription.New(pool.Config().ConnConfig, subscription.Options{PollInterval: 20 * time.Millisecond, LockRetry: 50 * time.Millisecond},
			customersummary.ConsumerFor(v, codec))
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); rt.Run(rctx) }()
		return func() { cancel(); <-done }
	}
	active := func() (v int) {
		_ = pool.QueryRow(ctx, `SELECT coalesce((SELECT active FROM read_model_versions WHERE name = 'customer_summary'), 0)`).Scan(&v)
		return v
	}
	// Set before any runtime reads it; put back after every runtime has stopped.
	old := customersummary.DropAfter
	customersummary.DropAfter = 300 * time.Millisecond
	t.Cleanup(func() { customersummary.DropAfter = old })
	v := customersummary.Version
	stop1 := run(v)
	defer stop1()
	for range 4 {
		place()
	}
	if s, _, err := get.Handle(ctx, "carol", place(), 10*time.Second); err != nil || s.OrdersPlaced != 5 || active() != v {
		t.Fatalf("v%d: %+v %v (active %d)", v, s, err, active())
	}
	stop2 := run(v + 1) // the new code's version, while the old one keeps serving
	defer stop2()
	deadline := time.Now().Add(15 * time.Second)
	for active() != v+1 {
		if time.Now().After(deadline) {
			t.Fatal("the new version never became active")
		}
		if s, _, err := get.Handle(ctx, "carol", 0, 0); err != nil || s.OrdersPlaced < 5 {
			t.Fatalf("reads during the rebuild: %+v %v", s, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pos := place()
	if s, _, err := get.Handle(ctx, "carol", pos, 10*time.Second); err != nil || s.OrdersPlaced != 6 {
		t.Fatalf("v%d: %+v %v", v+1, s, err)
	}
	stop1() // the old replicas are gone
	for {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, customersummary.Table(v)).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("the old table was not dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var n int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM consumer_checkpoints WHERE name = $1`, customersummary.ConsumerName(v)).Scan(&n)
	if n != 0 {
		t.Fatal("the old checkpoint was kept")
	}
}
