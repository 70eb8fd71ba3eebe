package orderstore_test

import (
	"context"
	"errors"
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
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/test/pgtest"
)

// roundTrips counts what a connection sends and waits for: each statement on its own
// and each batch (however many statements it holds) is one round trip. It counts the
// statements too.
type roundTrips struct{ n, statements atomic.Int64 }

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.statements.Add(1)
	return ctx
}
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.statements.Add(1)
}
func (c *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
func (c *roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *roundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// counted returns how many round trips and statements f took.
func (c *roundTrips) counted(f func()) (roundTrips, statements int64) {
	n, s := c.n.Load(), c.statements.Load()
	f()
	return c.n.Load() - n, c.statements.Load() - s
}

// countedApp is the application on a pool of one connection whose round trips are
// counted (one connection, so that statements are prepared once, by the warm-up).
func countedApp(t *testing.T, pool *pgxpool.Pool, cached int) application.App {
	codec := eventcodec.NewOrderRegistry()
	return application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(orderstore.NewStoreWithCache(pool, codec, cached), orderstore.NewQueries(pool, codec), appkit.RunnerConfig{})}}
}

// TestOneRoundTripPerCommand pins the common case of issue 14: placing an order with a
// server-chosen id, and a command on an order whose state is cached, are one round trip
// each (BEGIN, the guarded append, the read-model writes and COMMIT in one batch). A
// regression here fails make test.
func TestOneRoundTripPerCommand(t *testing.T) {
	rt := &roundTrips{}
	pool := pgtest.NewPool(t, pgtest.MaxConns(1), pgtest.WithPoolConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = rt }))
	app := countedApp(t, pool, 100)
	ctx := appkit.AsSystem(context.Background())
	place := func() uuid.UUID {
		id := uuid.Must(application.NewID())
		if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "rt", Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	addLine := func(id uuid.UUID) application.OrderResult {
		res, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "rt", Quantity: 1, UnitPriceCents: 100})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Warm-up: pgx prepares each statement the first time a connection sees it.
	warm := place()
	addLine(warm)
	addLine(warm)
	if _, err := app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: warm}); err != nil {
		t.Fatal(err)
	}

	// Each is two statements, the guarded append and the read-model write, in one
	// pipeline (an implicit transaction, no BEGIN or COMMIT). Running the read-model
	// write inside the append's statement, as a data-modifying CTE, measured no cheaper
	// for PostgreSQL (docs/benchmarks.md), so they stay two.
	var id uuid.UUID
	if n, s := rt.counted(func() { id = place() }); n != 1 || s != 2 {
		t.Errorf("placing an order took %d round trips and %d statements, want 1 and 2", n, s)
	}
	for i := range 3 {
		var res application.OrderResult
		if n, s := rt.counted(func() { res = addLine(id) }); n != 1 || s != 2 {
			t.Errorf("adding line %d to a cached order took %d round trips and %d statements, want 1 and 2", i+1, n, s)
		}
		if res.View.Version != int64(i+2) {
			t.Errorf("after line %d: version %d, want %d", i+1, res.View.Version, i+2)
		}
	}
	if n, s := rt.counted(func() {
		if _, err := app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}); err != nil {
			t.Fatal(err)
		}
	}); n != 1 || s != 2 {
		t.Errorf("confirming a cached order took %d round trips and %d statements, want 1 and 2", n, s)
	}
}

// A command with an Idempotency-Key is one round trip too: the key is taken to be new
// and inserted with its outcome in the commit's batch. A repeat costs the failed batch
// and a read: the key's insert fails, and the attempt claims it by asking and replays.
func TestOneRoundTripPerKeyedCommand(t *testing.T) {
	rt := &roundTrips{}
	pool := pgtest.NewPool(t, pgtest.MaxConns(1), pgtest.WithPoolConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = rt }))
	app := countedApp(t, pool, 100)
	ctx := appkit.AsSystem(context.Background())
	keyed := func(key string) application.OrderOptions {
		return application.OrderOptions{Idempotency: &appkit.Idempotency{Key: key, Fingerprint: key}}
	}
	place := func(id uuid.UUID, key string) application.OrderResult {
		t.Helper()
		res, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "rt", Currency: "EUR", Options: keyed(key)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	addLine := func(id uuid.UUID, key string) application.OrderResult {
		t.Helper()
		res, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "rt", Quantity: 1, UnitPriceCents: 100, Options: keyed(key)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	warm := uuid.Must(application.NewID())
	place(warm, "warm-place")
	addLine(warm, "warm-line")
	addLine(warm, "warm-line")

	id := uuid.Must(application.NewID())
	if n, s := rt.counted(func() { place(id, "place") }); n != 1 || s != 3 {
		t.Errorf("placing an order with a key took %d round trips and %d statements, want 1 and 3", n, s)
	}
	var first application.OrderResult
	if n, s := rt.counted(func() { first = addLine(id, "line") }); n != 1 || s != 3 {
		t.Errorf("adding a line with a key took %d round trips and %d statements, want 1 and 3", n, s)
	}
	again := addLine(id, "line")
	if !again.Replayed || first.Replayed || again.View.Version != 2 || first.View.Version != 2 {
		t.Errorf("the repeat: replayed %v at version %d; the first: replayed %v at version %d", again.Replayed, again.View.Version, first.Replayed, first.View.Version)
	}
	_, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "other", Quantity: 1, UnitPriceCents: 1,
		Options: application.OrderOptions{Idempotency: &appkit.Idempotency{Key: "line", Fingerprint: "another request"}}})
	if !errors.Is(err, appkit.ErrIdempotencyKeyReused) {
		t.Errorf("the key with another request: %v, want ErrIdempotencyKeyReused", err)
	}
	var events, keys int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE stream_id = $1),
			(SELECT count(*) FROM idempotency_keys WHERE key IN ('place', 'line') AND outcome IS NOT NULL)`, id.String()).Scan(&events, &keys); err != nil {
		t.Fatal(err)
	}
	if events != 2 || keys != 2 {
		t.Errorf("%d events and %d keys with their outcome, want 2 and 2", events, keys)
	}
}

// TestUnverifiedStatesFallBack checks the answers when the state a command starts from
// without reading is wrong: a client-chosen id that exists, a cached state that another
// replica moved past, an order this process has never seen. Each falls back to reading
// the stream and answers as if it had read it in the first place.
func TestUnverifiedStatesFallBack(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.MaxConns(4))
	ctx := appkit.AsSystem(context.Background())
	a, b := countedApp(t, pool, 100), countedApp(t, pool, 100) // two replicas
	id := uuid.Must(application.NewID())
	if _, err := a.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "x", Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}

	// The same client-chosen id again, on either replica: the order exists.
	for name, app := range map[string]application.App{"same replica": a, "other replica": b} {
		_, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "y", Currency: "USD"})
		if !errors.Is(err, order.ErrAlreadyPlaced) {
			t.Errorf("%s: placing an existing id: %v, want order_already_placed", name, err)
		}
	}
	// b has never seen the order (nothing cached): it reads it.
	add := func(app application.App, want int64) {
		t.Helper()
		res, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "s", Quantity: 2, UnitPriceCents: 10})
		if err != nil {
			t.Fatal(err)
		}
		if res.View.Version != want {
			t.Fatalf("version %d, want %d", res.View.Version, want)
		}
	}
	add(b, 2)
	// a's cached state (version 1) is stale now: its guarded append fails and it reads.
	add(a, 3)
	add(b, 4) // and b's (version 2)
	// A rejection decided on a stale cache is decided again: a confirms from its cached
	// version 3 while b cancels the order.
	if _, err := b.Orders.CancelOrder(ctx, application.CancelOrder{OrderID: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "s", Quantity: 1, UnitPriceCents: 1}); !errors.Is(err, order.ErrNotPending) && !errors.Is(err, order.ErrCancelled) {
		t.Fatalf("adding to a cancelled order through a stale cache: %v", err)
	}
	// If-Match against a stale cache: the stored version decides.
	if _, err := a.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id, Options: application.OrderOptions{ExpectedVersions: []int64{5}}}); !errors.Is(err, order.ErrCancelled) {
		t.Fatalf("confirm with If-Match 5 on a cancelled order at version 5: %v, want order_cancelled", err)
	}
	var conflict *appkit.VersionConflictError
	if _, err := a.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id, Options: application.OrderOptions{ExpectedVersions: []int64{4}}}); !errors.As(err, &conflict) || conflict.Actual != 5 {
		t.Fatalf("confirm with If-Match 4 at version 5: %v, want a version conflict at 5", err)
	}
	// The failed one-round-trip batches left nothing behind: events, head and read
	// model agree (3 lines, version 5).
	var events, head, overview, lines int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE stream_id = $1),
			(SELECT version FROM aggregate_heads WHERE stream_id = $1),
			(SELECT version FROM order_overview WHERE id = $2),
			(SELECT count(*) FROM order_overview_lines WHERE order_id = $2)`, id.String(), id).Scan(&events, &head, &overview, &lines); err != nil {
		t.Fatal(err)
	}
	if events != 5 || head != 5 || overview != 5 || lines != 3 {
		t.Fatalf("%d events, head %d, read model at %d with %d lines; want 5, 5, 5, 3", events, head, overview, lines)
	}
}

// A stream found stale is read before each command for a while (hot: under contention
// the unread attempt mostly fails), and trusted again after that: its next command is
// one round trip again.
func TestAStaleStreamIsTrustedAgainAfterAWhile(t *testing.T) {
	rt := &roundTrips{}
	pool := pgtest.NewPool(t, pgtest.MaxConns(1), pgtest.WithPoolConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = rt }))
	cfg := pool.Config() // another replica, on the same database, not counted
	cfg.ConnConfig.Tracer = nil
	other, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	a, b := countedApp(t, pool, 100), countedApp(t, other, 100)
	ctx := appkit.AsSystem(context.Background())
	addLine := func(app application.App, id uuid.UUID) {
		t.Helper()
		if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "s", Quantity: 1, UnitPriceCents: 1}); err != nil {
			t.Fatal(err)
		}
	}
	id := uuid.Must(application.NewID())
	if _, err := a.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "hot", Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	addLine(a, id) // warm-up: statements prepared
	addLine(b, id) // a's cached state is stale now
	addLine(a, id) // a finds it stale, reads, and marks it hot
	if n, _ := rt.counted(func() { addLine(a, id) }); n == 1 {
		t.Fatalf("a command on a stream found stale a moment ago took 1 round trip: it should read first")
	}
	time.Sleep(2100 * time.Millisecond)
	if n, _ := rt.counted(func() { addLine(a, id) }); n != 1 {
		t.Fatalf("a command on a stream found stale over 2 s ago took %d round trips, want 1", n)
	}
}

// The state cache holds as many orders as it is given room for: with room for two,
// commands alternating between two orders stay one round trip each, and a third
// order evicts the one used least recently.
func TestTheStateCacheHoldsItsCapacity(t *testing.T) {
	rt := &roundTrips{}
	pool := pgtest.NewPool(t, pgtest.MaxConns(1), pgtest.WithPoolConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = rt }))
	app := countedApp(t, pool, 2)
	ctx := appkit.AsSystem(context.Background())
	place := func() uuid.UUID {
		t.Helper()
		id := uuid.Must(application.NewID())
		if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "cap", Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	addLine := func(id uuid.UUID) int64 {
		t.Helper()
		n, _ := rt.counted(func() {
			if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "s", Quantity: 1, UnitPriceCents: 1}); err != nil {
				t.Fatal(err)
			}
		})
		return n
	}
	a := place()
	addLine(a) // warm-up: statements prepared
	b := place()
	for i := range 3 {
		if na, nb := addLine(a), addLine(b); na != 1 || nb != 1 {
			t.Fatalf("round %d: %d and %d round trips for two orders in a cache of two, want 1 each", i, na, nb)
		}
	}
	place() // evicts a, used least recently
	if n := addLine(a); n == 1 {
		t.Fatal("an order evicted from the cache was written without reading it")
	}
}
