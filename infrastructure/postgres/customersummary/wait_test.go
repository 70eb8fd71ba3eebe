package customersummary_test

import (
	"context"
	"sync"
	"sync/atomic"
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

// countingReader counts the position queries.
type countingReader struct {
	*customersummary.Reader
	positions atomic.Int64
}

func (r *countingReader) Position(ctx context.Context) (int64, error) {
	r.positions.Add(1)
	return r.Reader.Position(ctx)
}

// TestWaitersShareThePositionQueries: 100 reads waiting for min_position while the
// consumer is away and then catches up cost a bounded number of position queries, and
// the consumer's progress wakes them all (each polled every 20 ms before).
func TestWaitersShareThePositionQueries(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	app := testsupport.NewApp(t, pool)
	res, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: uuid.New(), CustomerID: "w", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	reader := &countingReader{Reader: customersummary.NewReader(pool)}
	get := application.NewGetCustomerSummaryHandler(reader)

	start := time.Now()
	var wg sync.WaitGroup
	var reached atomic.Int64
	for range 100 {
		wg.Go(func() {
			sum, _, err := get.Handle(ctx, "w", res.View.Position, 10*time.Second)
			if err != nil {
				t.Error(err)
			} else if sum.OrdersPlaced == 1 {
				reached.Add(1)
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // the consumer is away
	rt := subscription.New(pool.Config().ConnConfig, subscription.Options{LockRetry: 50 * time.Millisecond,
		OnProgress: func(string, int64) { get.Progressed() }}, customersummary.Consumer(codec))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); rt.Run(rctx) }()
	defer func() { cancel(); <-done }()
	wg.Wait()

	elapsed := time.Since(start)
	if reached.Load() != 100 {
		t.Fatalf("%d of 100 waiters saw the order", reached.Load())
	}
	// One query per 20 ms poll for the whole process, and a few more.
	if n, bound := reader.positions.Load(), int64(elapsed/(20*time.Millisecond))+10; n > bound {
		t.Fatalf("100 waiters over %v queried the position %d times, want at most %d", elapsed.Round(time.Millisecond), n, bound)
	}
	t.Logf("100 waiters over %v: %d position queries", elapsed.Round(time.Millisecond), reader.positions.Load())
}
