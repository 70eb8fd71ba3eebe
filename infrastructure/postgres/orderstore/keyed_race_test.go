package orderstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
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

// Only the guessed key's own insert failing sends the attempt round again: any other
// failure of the batch, a unique violation of another constraint included, is the
// attempt's error, with nothing written.
func TestAGuessedKeyDoesNotHideOtherFailures(t *testing.T) {
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	if _, err := f.pool.Exec(ctx, `CREATE TABLE guessed_key_test (k int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	id := uuid.Must(application.NewID())
	key := appkit.IdempotencyKey{Scope: "s", Key: "k"}
	at := time.Now().UTC().Truncate(time.Microsecond)
	_, err := f.store.Attempt(ctx, id, appkit.Optimistic, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
		if rec, err := tx.ClaimIdempotencyKey(ctx, key, "f", time.Hour); err != nil || !rec.Claimed {
			return fmt.Errorf("claim: %+v %w", rec, err)
		}
		if _, err := tx.Load(ctx); err != nil {
			return err
		}
		if err := tx.Append(ctx, 0, []order.Event{order.OrderPlaced{OrderID: id, CustomerID: "x", Currency: "EUR", PlacedAt: at}}, appkit.Metadata{}, at); err != nil {
			return err
		}
		if err := tx.KeepOutcome(ctx, key, appkit.KeptOutcome{ID: id, Version: 1}); err != nil {
			return err
		}
		tx.(aggregatestore.Queue).Defer(`INSERT INTO guessed_key_test VALUES (1), (1)`)
		return nil
	})
	if err == nil || errors.Is(err, appkit.ErrUnverified) || !strings.Contains(err.Error(), "guessed_key_test") {
		t.Fatalf("the batch failed on another constraint: %v, want that error", err)
	}
	var events, keys int
	if err := f.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE stream_id = $1), (SELECT count(*) FROM idempotency_keys WHERE key = 'k')`,
		id.String()).Scan(&events, &keys); err != nil || events != 0 || keys != 0 {
		t.Fatalf("%d events and %d keys written (%v)", events, keys, err)
	}
}
