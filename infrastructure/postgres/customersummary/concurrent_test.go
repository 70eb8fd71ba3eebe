package customersummary_test

import (
	"context"
	"sync"
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

// Many concurrent writers while the projection runs: it equals the fold at the end.
func TestConcurrentWritersWhileProjecting(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.MaxConns(20))
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	app := testsupport.NewApp(t, pool)
	rt := subscription.New(pool.Config().ConnConfig, subscription.Options{PollInterval: 5 * time.Millisecond, BatchSize: 7}, customersummary.Consumer(codec))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); rt.Run(rctx) }()
	defer func() { cancel(); <-done }()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last int64
	for w := range 8 {
		wg.Go(func() {
			for i := range 40 {
				id := uuid.New()
				if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "c", Currency: "EUR"}); err != nil {
					t.Error(err)
					return
				}
				if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1 + w, UnitPriceCents: 10}); err != nil {
					t.Error(err)
					return
				}
				res, err := app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id})
				if err != nil {
					t.Error(err)
					return
				}
				_ = i
				mu.Lock()
				last = max(last, res.View.Position)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if _, _, err := application.NewGetCustomerSummaryHandler(customersummary.NewReader(pool)).Handle(ctx, "c", last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var diffs []string
	if _, err := customersummary.Verify(ctx, pool, codec, func(d string) { diffs = append(diffs, d) }); err != nil || len(diffs) > 0 {
		t.Fatalf("%v %d differences: %v", err, len(diffs), diffs[:min(5, len(diffs))])
	}
}
