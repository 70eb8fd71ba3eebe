package orderstore_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/orderstore"
)

// Two replicas share a database, each with its own cache of folded states. Whatever
// one writes, the other's next command sees: the cache only saves re-reading what it
// already folded.
func TestCachedStatesCatchUpWithOtherReplicas(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	other := application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(orderstore.NewStore(f.pool, codec), orderstore.NewQueries(f.pool, codec), appkit.RunnerConfig{})}}
	uncached := application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(orderstore.NewStoreWithCache(f.pool, codec, 0), orderstore.NewQueries(f.pool, codec), appkit.RunnerConfig{})}}

	id := f.place(t, "replicas").State.ID
	f.addLine(t, id, "a", 1, 100) // this replica now caches version 2
	for i, app := range []application.App{other, uncached, other} {
		if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: sku(i), Quantity: 1, UnitPriceCents: 10}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "z", Quantity: 1, UnitPriceCents: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.View.Version != 6 || len(res.View.State.Lines) != 5 || res.View.State.TotalCents != 131 {
		t.Fatalf("stale cache: %+v", res.View)
	}
	folded, err := uncached.Orders.AsOf(ctx, id, 6, nil)
	res.View.Position = 0 // the log position is the write side's answer; reads do not carry it
	if err != nil || !reflect.DeepEqual(folded, res.View) {
		t.Fatalf("cached result differs from the fold of the whole stream:\n%+v\n%+v (%v)", res.View, folded, err)
	}
}

// A rolled-back command must not leave its state in the cache.
func TestRolledBackStateIsNotCached(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "rollback").State.ID
	boom := context.Canceled
	_, _ = f.store.Attempt(ctx, id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
		v, err := tx.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		line := order.OrderLineAdded{SKU: "ghost", Quantity: 99, UnitPriceCents: 1000, AddedAt: v.State.PlacedAt}
		if err := tx.Append(ctx, v.Version, []order.Event{line}, appkit.Metadata{}, v.State.PlacedAt); err != nil {
			t.Fatal(err)
		}
		return boom // roll back the line
	})
	res, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 2, UnitPriceCents: 5})
	if err != nil || res.View.Version != 2 || res.View.State.TotalCents != 10 {
		t.Fatalf("after a rollback: %+v %v", res.View, err)
	}
}
