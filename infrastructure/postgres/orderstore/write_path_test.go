package orderstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/test/pgtest"
)

// A failed attempt ends its transaction with a ROLLBACK, so that its connection goes
// back to the pool idle and serves the next command: a connection released inside a
// transaction is closed by the pool, and every rejected command would cost a new one.
// Both an attempt that wrote and then failed, and one whose statement failed, leave no
// rows and the same backend.
func TestAFailedAttemptRollsBackAndKeepsItsConnection(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t, pgtest.MaxConns(1))
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	store := orderstore.NewStoreWithCache(pool, codec, 0)
	app := application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(store, orderstore.NewQueries(pool, codec), appkit.RunnerConfig{})}}
	id := uuid.Must(application.NewID())
	placed, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "rollback", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	backend := func() (pid int32) {
		if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	pid, conns := backend(), pool.Stat().NewConnsCount()
	line := order.OrderLineAdded{SKU: "ghost", Quantity: 1, UnitPriceCents: 1, AddedAt: placed.View.State.PlacedAt}
	boom := errors.New("boom")
	for _, c := range []struct {
		name     string
		expected func(v appkit.Versioned[order.State]) int64
		fail     error
	}{
		{"wrote, then failed", func(v appkit.Versioned[order.State]) int64 { return v.Version }, boom},
		{"its append failed", func(v appkit.Versioned[order.State]) int64 { return v.Version + 5 }, nil},
	} {
		_, err := store.Attempt(ctx, id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
			v, err := tx.Load(ctx)
			if err != nil {
				return err
			}
			if err := tx.Append(ctx, c.expected(v), []order.Event{line}, appkit.Metadata{}, placed.View.State.PlacedAt); err != nil {
				return err
			}
			return c.fail
		})
		if err == nil {
			t.Fatalf("%s: the attempt succeeded", c.name)
		}
		if n := (fixture{pool: pool}).eventCount(t, id); n != 1 {
			t.Fatalf("%s: %d events, want the 1 placed", c.name, n)
		}
		if got, n := backend(), pool.Stat().NewConnsCount(); got != pid || n != conns {
			t.Fatalf("%s: the next statement ran on backend %d (%d connections opened), want %d (%d): the failed attempt's connection was not rolled back",
				c.name, got, n, pid, conns)
		}
	}
	if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1, UnitPriceCents: 3}); err != nil {
		t.Fatalf("a command after the failed attempts: %v", err)
	}
}

// snapshotVersion is the version of the stream's snapshot, 0 when it has none.
func snapshotVersion(t *testing.T, pool *pgxpool.Pool, id uuid.UUID) (v int64) {
	t.Helper()
	err := pool.QueryRow(appkit.AsSystem(context.Background()), `SELECT coalesce(max(version), 0) FROM snapshots WHERE stream_id = $1`, id.String()).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// awaitSnapshot waits (snapshots are written in the background) until the stream's
// snapshot is at want, or a while has passed; it returns the version last seen.
func awaitSnapshot(t *testing.T, pool *pgxpool.Pool, id uuid.UUID, want int64, within time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v := snapshotVersion(t, pool, id)
		if v == want || time.Now().After(deadline) {
			return v
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// loadOnly runs a Read attempt that loads the stream and decides nothing.
func loadOnly(t *testing.T, store *orderstore.Store, id uuid.UUID) appkit.Versioned[order.State] {
	t.Helper()
	v, err := store.Attempt(appkit.AsSystem(context.Background()), id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
		_, err := tx.Load(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A cold load (no cached state) that folds Every events or more writes a snapshot of
// what it folded, so that the next cold load folds only what follows; one that folds
// fewer writes none. The streams are written by a store that takes no snapshots, so
// only the loads can take them.
func TestAColdLoadOfEveryEventsOrMoreTakesASnapshot(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t, pgtest.MaxConns(8))
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	writer := application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(orderstore.NewStoreWithSnapshots(pool, codec, 100, 0), orderstore.NewQueries(pool, codec), appkit.RunnerConfig{})}}
	stream := func(events int) uuid.UUID {
		id := uuid.Must(application.NewID())
		if _, err := writer.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "cold", Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		for l := range events - 1 {
			if _, err := writer.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: sku(l), Quantity: 1, UnitPriceCents: 1}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	short, exact := stream(4), stream(5)
	reader := orderstore.NewStoreWithSnapshots(pool, codec, 0, 5)
	if v := loadOnly(t, reader, short); v.Version != 4 {
		t.Fatalf("loaded version %d, want 4", v.Version)
	}
	if v := loadOnly(t, reader, exact); v.Version != 5 {
		t.Fatalf("loaded version %d, want 5", v.Version)
	}
	if v := awaitSnapshot(t, pool, exact, 5, 2*time.Second); v != 5 {
		t.Fatalf("after a cold load that folded 5 events (Every 5): snapshot at version %d, want 5", v)
	}
	// The short stream's load ran first; its snapshot, had it been taken, would have
	// been written by now, or within a few milliseconds more.
	if v := awaitSnapshot(t, pool, short, 4, 20*time.Millisecond); v != 0 {
		t.Fatalf("after a cold load that folded 4 events (Every 5): snapshot at version %d, want none", v)
	}
}

// LoadVersion(0) is the stream before its first event: the initial state at version
// 0, whatever the stream holds now (a kept outcome at version 0 replays that).
func TestLoadVersionZeroIsTheInitialState(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	id := fx.place(t, "v0").State.ID
	fx.addLine(t, id, "a", 1, 100)
	for _, c := range []struct {
		version int64
		lines   int
	}{{0, 0}, {1, 0}, {2, 1}} {
		var loaded appkit.Versioned[order.State]
		answer, err := fx.store.Attempt(appkit.AsSystem(context.Background()), id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
			var err error
			loaded, err = tx.LoadVersion(ctx, id, c.version)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if loaded.Version != c.version || len(loaded.State.Lines) != c.lines || answer.Version != c.version {
			t.Fatalf("LoadVersion(%d): version %d with %d lines (answered version %d), want version %d with %d lines",
				c.version, loaded.Version, len(loaded.State.Lines), answer.Version, c.version, c.lines)
		}
		if c.version == 0 && (loaded.State.ID != uuid.Nil || loaded.State.Status != order.Decider.Initial.Status) {
			t.Fatalf("LoadVersion(0): %+v, want the initial state", loaded.State)
		}
	}
}

// Snapshots.Every 0 takes DefaultSnapshotEvery (100): a stream that reaches 99 events
// has no snapshot, and the append that brings it to 100 writes one at 100. (Taken as
// 0 it would divide by zero.)
func TestSnapshotEveryZeroTakesTheDefault(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t, pgtest.MaxConns(4))
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	store := aggregatestore.New(pool, aggregatestore.Config[order.State, order.Event]{
		StreamType: orderstore.StreamType, Codec: codec, Initial: order.Decider.Initial, Fold: order.Decider.Fold,
		Project: orderstore.Project,
		Snapshots: &aggregatestore.Snapshots[order.State]{
			SchemaVersion: 1,
			Encode:        func(s order.State) ([]byte, error) { return json.Marshal(s) },
			Decode: func(b []byte) (s order.State, err error) {
				err = json.Unmarshal(b, &s)
				return s, err
			},
			// Every: 0
		},
	})
	id := uuid.Must(application.NewID())
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	appendEvents := func(events ...order.Event) appkit.Versioned[order.State] {
		t.Helper()
		v, err := store.Attempt(ctx, id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
			v, err := tx.Load(ctx)
			if err != nil {
				return err
			}
			return tx.Append(ctx, v.Version, events, appkit.Metadata{}, at)
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	line := func(i int) order.Event {
		return order.OrderLineAdded{SKU: sku(i), Quantity: 1, UnitPriceCents: 1, AddedAt: at}
	}
	events := []order.Event{order.OrderPlaced{OrderID: id, CustomerID: "default", Currency: "EUR", PlacedAt: at}}
	for i := range 98 {
		events = append(events, line(i))
	}
	if v := appendEvents(events...); v.Version != 99 {
		t.Fatalf("version %d, want 99", v.Version)
	}
	if v := loadOnly(t, store, id); v.Version != 99 { // a cold load of 99 events: fewer than 100
		t.Fatalf("loaded version %d, want 99", v.Version)
	}
	if v := awaitSnapshot(t, pool, id, 99, 20*time.Millisecond); v != 0 {
		t.Fatalf("snapshot at version %d with 99 events and Every 0, want none (DefaultSnapshotEvery is 100)", v)
	}
	if v := appendEvents(line(98)); v.Version != 100 {
		t.Fatalf("version %d, want 100", v.Version)
	}
	if v := awaitSnapshot(t, pool, id, 100, 2*time.Second); v != 100 {
		t.Fatalf("snapshot at version %d after the 100th event with Every 0, want 100 (DefaultSnapshotEvery)", v)
	}
}
