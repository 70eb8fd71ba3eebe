package orderstore_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/test/pgtest"
)

// Snapshots are a cache: a store that starts cold answers every command the same with
// the snapshots, without them (all deleted), and with snapshots of another state schema
// version (ignored), and the snapshots are written as streams grow.
func TestSnapshotsChangeNoAnswer(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.MaxConns(8))
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	// Cold stores: no state cache, a snapshot every 5 events.
	cold := func() application.App {
		return application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(orderstore.NewStoreWithSnapshots(pool, codec, 0, 5), orderstore.NewQueries(pool, codec), appkit.RunnerConfig{})}}
	}
	app := cold()
	ids := make([]uuid.UUID, 3)
	for i := range ids {
		ids[i] = uuid.Must(application.NewID())
		if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: ids[i], CustomerID: "snap", Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		for l := range 12 + i {
			if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: ids[i], SKU: sku(l), Quantity: 1 + l%3, UnitPriceCents: int64(100 + l)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func() (n int) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM snapshots WHERE stream_type = 'order'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The answer of a cold store to each of a few commands, on a copy of the database
	// state: each command runs in a transaction that is rolled back by an If-Match that
	// never holds, so states do not move between the variants.
	answers := func() []any {
		var out []any
		a := cold()
		for _, id := range ids {
			res, err := a.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "probe", Quantity: 1, UnitPriceCents: 1,
				Options: application.OrderOptions{ExpectedVersions: []int64{999}}})
			out = append(out, res.View, err.Error())
			v, err := a.Orders.Get(ctx, id)
			out = append(out, v, err)
		}
		// And a command that writes, on a fresh order each time.
		return out
	}
	// Writes are in the background and skipped when enough are in flight; a cold load
	// that folds Every events or more takes one too, so probing brings them all.
	deadline := time.Now().Add(20 * time.Second)
	for count() < len(ids) && time.Now().Before(deadline) {
		answers()
		time.Sleep(20 * time.Millisecond)
	}
	if n := count(); n != len(ids) {
		t.Fatalf("%d snapshots, want one per order (%d)", n, len(ids))
	}
	with := answers()
	if _, err := pool.Exec(ctx, `UPDATE snapshots SET state_schema_version = 999, state = '{"Status":"garbage"}'`); err != nil {
		t.Fatal(err)
	}
	otherSchema := answers()
	if _, err := pool.Exec(ctx, `DELETE FROM snapshots`); err != nil {
		t.Fatal(err)
	}
	without := answers()
	if !reflect.DeepEqual(with, without) || !reflect.DeepEqual(with, otherSchema) {
		t.Fatalf("answers differ:\nwith snapshots    %v\nwithout           %v\nother schema      %v", with, without, otherSchema)
	}

	// Commands that write: the same results from a snapshot and from the whole stream.
	for _, id := range ids[:1] {
		before := cold()
		r1, err := before.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "x", Quantity: 2, UnitPriceCents: 7})
		if err != nil {
			t.Fatal(err)
		}
		// The cold load after deleting snapshots folded all 14 events and took a snapshot.
		deadline := time.Now().Add(10 * time.Second)
		for count() == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		fromSnap := cold()
		r2, err := fromSnap.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "y", Quantity: 2, UnitPriceCents: 7})
		if err != nil {
			t.Fatal(err)
		}
		if r2.View.Version != r1.View.Version+1 || len(r2.View.State.Lines) != len(r1.View.State.Lines)+1 ||
			r2.View.State.TotalCents != r1.View.State.TotalCents+14 {
			t.Fatalf("from a snapshot: %+v after %+v", r2.View, r1.View)
		}
		folded := cold()
		if _, err := pool.Exec(ctx, `DELETE FROM snapshots`); err != nil {
			t.Fatal(err)
		}
		got, err := folded.Orders.AsOf(ctx, id, r2.View.Version, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.State, r2.View.State) {
			t.Fatalf("state from the snapshot path\n%+v\nfolded from the events\n%+v", r2.View.State, got.State)
		}
	}

	// A snapshot of the current schema version that does not decode is only a missed
	// shortcut: the stream is folded from its first event.
	deadline = time.Now().Add(10 * time.Second)
	for count() == 0 && time.Now().Before(deadline) {
		answers()
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := pool.Exec(ctx, `UPDATE snapshots SET state = '\x00'::bytea`); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		res, err := cold().Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "z", Quantity: 1, UnitPriceCents: 1})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := app.Orders.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if res.View.Version != stored.Version || len(res.View.State.Lines) != len(stored.State.Lines) || res.View.State.TotalCents != stored.State.TotalCents {
			t.Fatalf("over an unreadable snapshot: version %d, %d lines, total %d; the read model: %d, %d, %d", res.View.Version,
				len(res.View.State.Lines), res.View.State.TotalCents, stored.Version, len(stored.State.Lines), stored.State.TotalCents)
		}
	}
}

// A store whose state cache answers every command (so that it never folds a stream)
// still snapshots a stream each time it passes a multiple of Every events.
func TestAWarmStoreSnapshotsAsStreamsGrow(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.MaxConns(4))
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	app := application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(orderstore.NewStoreWithSnapshots(pool, codec, 100, 5), orderstore.NewQueries(pool, codec), appkit.RunnerConfig{})}}
	id := uuid.Must(application.NewID())
	if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "warm", Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	snapshotAt := func() (v int64) {
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM snapshots WHERE stream_id = $1`, id.String()).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for l := range 11 { // versions 2 to 12: past 5 and 10
		if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: sku(l), Quantity: 1, UnitPriceCents: 1}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second) // snapshots are written in the background
	for snapshotAt() < 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if v := snapshotAt(); v != 10 {
		t.Fatalf("snapshot at version %d after 12 events written through a warm store, want 10", v)
	}
}
