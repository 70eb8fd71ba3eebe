package fulfilment_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/fulfilment"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/shipmentstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

func TestConcurrentWithBothConsumers(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.MaxConns(20))
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	orders := orderstore.NewQueries(pool, codec)
	app := testsupport.NewApp(t, pool)
	sc := eventcodec.NewShipmentRegistry()
	app.Shipments = application.NewShipments(shipmentstore.NewStore(pool, sc), shipmentstore.NewQueries(pool, sc), orders, appkit.RunnerConfig{})
	rt := subscription.New(pool.Config().ConnConfig, subscription.Options{PollInterval: 5 * time.Millisecond, Channel: "x", Log: slog.New(slog.NewTextHandler(os.Stderr, nil))},
		customersummary.Consumer(codec), fulfilment.Consumer(application.NewFulfilment(app.Shipments, nil), codec))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); rt.Run(rctx) }()
	defer func() { cancel(); <-done }()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 50 {
				id := uuid.New()
				if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "c", Currency: "EUR"}); err != nil {
					t.Error(err)
					return
				}
				if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1 + w, UnitPriceCents: 10}); err != nil {
					t.Error(err)
					return
				}
				if _, err := app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var last int64
	_ = pool.QueryRow(ctx, `SELECT max(global_position) FROM events`).Scan(&last)
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, _ := subscription.Statuses(ctx, pool)
		ok := len(all) == 2
		for _, s := range all {
			ok = ok && s.Position >= last
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up: %+v", all)
		}
		time.Sleep(20 * time.Millisecond)
		_ = pool.QueryRow(ctx, `SELECT max(global_position) FROM events`).Scan(&last)
	}
	var diffs []string
	if _, err := customersummary.Verify(ctx, pool, codec, func(d string) { diffs = append(diffs, d) }); err != nil || len(diffs) > 0 {
		t.Fatalf("%v %d differences: %v", err, len(diffs), diffs[:min(5, len(diffs))])
	}
}
