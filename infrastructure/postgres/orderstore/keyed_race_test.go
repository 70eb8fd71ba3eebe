package orderstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/test/pgtest"
)

// Copies of one keyed command race on three replicas, whose cached states differ: some
// take the key to be new (one round trip), some read first. Each round exactly one copy
// runs and the others replay it, with no error: every transaction takes the key before
// the stream's head, so none deadlocks (inserting the guessed key after the append did).
func TestKeyedCopiesOnReplicasRunOnce(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.MaxConns(16))
	ctx := appkit.AsSystem(context.Background())
	replicas := []application.App{countedApp(t, pool, 100), countedApp(t, pool, 100), countedApp(t, pool, 100)}
	id := uuid.Must(application.NewID())
	if _, err := replicas[0].Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "x", Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	const rounds, copies = 8, 9
	for round := range rounds {
		key := uuid.NewString()
		var ran atomic.Int32
		var wg sync.WaitGroup
		for i := range copies {
			wg.Go(func() {
				res, err := replicas[i%len(replicas)].Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "s", Quantity: 1, UnitPriceCents: 1,
					Options: application.OrderOptions{Idempotency: &appkit.Idempotency{Key: key, Fingerprint: "f"}}})
				switch {
				case err != nil:
					t.Errorf("round %d, copy %d: %v", round, i, err)
				case res.View.Version != int64(round+2):
					t.Errorf("round %d, copy %d: version %d, want %d", round, i, res.View.Version, round+2)
				case !res.Replayed:
					ran.Add(1)
				}
			})
		}
		wg.Wait()
		if n := ran.Load(); n != 1 {
			t.Errorf("round %d: %d copies ran the command, want 1", round, n)
		}
	}
	var lines int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM order_overview_lines WHERE order_id = $1`, id).Scan(&lines); err != nil || lines != rounds {
		t.Fatalf("%d lines (%v), want %d", lines, err, rounds)
	}
}
