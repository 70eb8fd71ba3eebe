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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
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

// Copies of one keyed PlaceOrder with a contact, a customer's first order, race on three
// replicas, each with its own personal data keys under one KEK (one process each).
// Sealing the first contact sends the insert of the customer's data key ahead of the
// commit, and the replica keeps that key for its next seal at once. A copy that arrives
// on the same replica meanwhile seals with the kept key, which is not committed yet: its
// check fails (personal_data_key_held), and it runs again in Read mode, which claims the
// idempotency key by asking, then waits for the data key. Unless the first copy, in
// Optimistic mode, claimed its key before sending the data key (020cba9: Tx claims a
// guessed key before the first statement it sends ahead of its commit), it inserts the
// key only with its commit, after the data key: the opposite order, a deadlock (40P01).
//
// The copies arrive in waves, one per replica each, a few milliseconds apart, and the
// commit of a transaction that sent anything before it is held back a little (slowCommits:
// a busy replica, a slow network), so that a later wave meets that window. On the code
// before 020cba9 every round deadlocked with both (24 of 24); without the held-back
// commit the window is a few microseconds (2 rounds of 40 did), without the waves the
// copies all seal before the first data key is kept (6 of 24).
//
// Each round has a new customer (no data key yet) and a new key: every copy answers the
// same order with no error, exactly one ran the command and the others replayed it, the
// customer has one data key, and the order's contact reads back on every replica.
func TestKeyedFirstOrdersWithAContactOnReplicasRunOnce(t *testing.T) {
	slow := &slowCommits{delay: 20 * time.Millisecond}
	pool := pgtest.NewPool(t, pgtest.MaxConns(16), pgtest.WithPoolConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = slow }))
	kekText, err := personaldata.NewKEKText()
	if err != nil {
		t.Fatal(err)
	}
	kek, err := personaldata.ParseKEK(kekText)
	if err != nil {
		t.Fatal(err)
	}
	replicas := []application.App{sealingApp(pool, kek), sealingApp(pool, kek), sealingApp(pool, kek)}
	const rounds, copies, gap = 8, 9, 3 * time.Millisecond
	for round := range rounds {
		// A deadlock fails a copy after deadlock_timeout (1 s); anything hung fails here.
		ctx, cancel := context.WithTimeout(appkit.AsSystem(context.Background()), 20*time.Second)
		customer := fmt.Sprintf("first-%d-%s", round, uuid.NewString())
		contact := order.Contact{Name: customer, Email: "first@example.com", Address: order.Address{Line1: "1 Way", PostalCode: "1000", City: "Brussels", Country: "BE"}}
		id, key := uuid.Must(application.NewID()), uuid.NewString()
		var ran atomic.Int32
		var wg sync.WaitGroup
		for i := range copies {
			wg.Go(func() {
				time.Sleep(time.Duration(i/len(replicas)) * gap) // waves: one copy per replica each
				res, err := replicas[i%len(replicas)].Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: customer, Currency: "EUR", Contact: &contact,
					Options: application.OrderOptions{Idempotency: &appkit.Idempotency{Key: key, Fingerprint: "f"}}})
				switch {
				case err != nil:
					t.Errorf("round %d, copy %d: %v", round, i, err)
				case res.View.State.ID != id || res.View.Version != 1:
					t.Errorf("round %d, copy %d: order %s version %d, want %s version 1", round, i, res.View.State.ID, res.View.Version, id)
				case !res.Replayed:
					ran.Add(1)
				}
			})
		}
		wg.Wait()
		if n := ran.Load(); n != 1 {
			t.Errorf("round %d: %d copies ran the command, want 1", round, n)
		}
		var events, dataKeys int
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE stream_type = 'order' AND stream_id = $1), (SELECT count(*) FROM personal_data_keys WHERE subject = $2)`,
			id.String(), customer).Scan(&events, &dataKeys); err != nil || events != 1 || dataKeys != 1 {
			t.Errorf("round %d: %d events and %d data keys for the customer (%v), want 1 and 1", round, events, dataKeys, err)
		}
		for i, r := range replicas {
			v, err := r.Orders.Get(ctx, id)
			if got, ok := v.State.Contact.Value(); err != nil || !ok || got != contact {
				t.Errorf("round %d, replica %d: the order's contact reads %+v (%v)", round, i, v.State.Contact, err)
			}
		}
		cancel()
		if t.Failed() {
			return // one deadlocked round is enough: each costs a second
		}
	}
}

// sealingApp is one replica that seals and opens personal data: its own data keys
// (a process keeps the ones it sealed with) under kek, and its own state cache, on pool.
func sealingApp(pool *pgxpool.Pool, kek personaldata.KEK) application.App {
	codec := eventcodec.NewOrderRegistry()
	keys := personaldata.NewKeys(kek)
	store := orderstore.NewStoreWithCache(pool, codec, 100).UsePersonalData(keys)
	return application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(store, orderstore.NewQueries(pool, codec).OpenPersonalData(keys), appkit.RunnerConfig{})}}
}

// slowCommits holds back, by delay, a batch that writes and ends with COMMIT: the commit
// of a transaction that sent something before it (a one-round-trip command sends no
// COMMIT). A bare COMMIT, a replay's, is not held back: replays queue on the key's row
// (claiming it locks it), so their delays would add up.
type slowCommits struct{ delay time.Duration }

func (s *slowCommits) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	if q := d.Batch.QueuedQueries; len(q) > 1 && q[len(q)-1].SQL == "COMMIT" {
		time.Sleep(s.delay)
	}
	return ctx
}
func (s *slowCommits) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (s *slowCommits) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (s *slowCommits) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (s *slowCommits) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

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
	err := keyedPlaceDeferring(ctx, f, id, appkit.IdempotencyKey{Scope: "s", Key: "k"}, `INSERT INTO guessed_key_test VALUES (1), (1)`)
	if err == nil || errors.Is(err, appkit.ErrUnverified) || !strings.Contains(err.Error(), "guessed_key_test") {
		t.Fatalf("the batch failed on another constraint: %v, want that error", err)
	}
	var events, keys int
	if err := f.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE stream_id = $1), (SELECT count(*) FROM idempotency_keys WHERE key = 'k')`,
		id.String()).Scan(&events, &keys); err != nil || events != 0 || keys != 0 {
		t.Fatalf("%d events and %d keys written (%v)", events, keys, err)
	}
}

// keyedPlaceDeferring runs an Optimistic attempt that claims key (taken to be new),
// places order id, keeps its outcome, and then defers sql into the commit's batch: how
// the tests of a guessed key make that batch fail after the key's insert.
func keyedPlaceDeferring(ctx context.Context, f fixture, id uuid.UUID, key appkit.IdempotencyKey, sql string) error {
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
		tx.(aggregatestore.Queue).Defer(sql)
		return nil
	})
	return err
}
