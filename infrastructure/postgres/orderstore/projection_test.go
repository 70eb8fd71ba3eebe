package orderstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/test/testsupport"
)

// Applying the same events to the read model again changes nothing.
func TestProjectionIsIdempotentByVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := uuid.New()
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	testsupport.CheckProjectionIsIdempotent(t, f.store, orderstore.Project, order.Decider, f.app.Orders.Owned, id, []order.Event{
		order.OrderPlaced{OrderID: id, CustomerID: "kim", Currency: "EUR", PlacedAt: at},
		order.OrderLineAdded{SKU: "a", Quantity: 2, UnitPriceCents: 300, AddedAt: at},
		order.OrderConfirmed{ConfirmedAt: at},
	})
}

func TestProjectionRollsBackWithTheAppend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := uuid.New()
	at := time.Now().UTC().Truncate(time.Microsecond)
	boom := context.Canceled // any error from fn rolls back
	_, _ = f.store.Attempt(ctx, id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
		err := tx.Append(ctx, 0, []order.Event{order.OrderPlaced{OrderID: id, CustomerID: "lee", Currency: "EUR", PlacedAt: at}}, appkit.Metadata{}, at)
		if err != nil {
			t.Fatal(err)
		}
		recorded := testsupport.Recorded(1, at, []order.Event{order.OrderPlaced{OrderID: id, CustomerID: "lee", Currency: "EUR", PlacedAt: at}}...)
		if err := orderstore.Project(tx.(aggregatestore.Queue), id, recorded); err != nil {
			t.Fatal(err)
		}
		return boom
	})
	if f.eventCount(t, id) != 0 {
		t.Fatal("events survived the rollback")
	}
	if _, err := f.app.Orders.Get(ctx, id); err == nil {
		t.Fatal("the read model row survived the rollback")
	}
}

// The read-model statements travel with COMMIT; if one fails, the events go too.
func TestFailingProjectionRollsBackTheEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := uuid.New()
	at := time.Now().UTC().Truncate(time.Microsecond)
	// The decider would never emit this; order_overview's CHECK on currency refuses it.
	bad := order.OrderPlaced{OrderID: id, CustomerID: "x", Currency: "eur", PlacedAt: at}
	_, err := f.store.Attempt(ctx, id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
		err := tx.Append(ctx, 0, []order.Event{bad}, appkit.Metadata{}, at)
		if err != nil {
			return err
		}
		recorded := testsupport.Recorded(1, at, []order.Event{bad}...)
		return orderstore.Project(tx.(aggregatestore.Queue), id, recorded)
	})
	if err == nil {
		t.Fatal("the transaction committed although the projection failed")
	}
	if n := f.eventCount(t, id); n != 0 {
		t.Fatalf("%d events survived a failed projection", n)
	}
	// The pool's connection is usable again.
	if v := f.place(t, "after"); v.Version != 1 {
		t.Fatalf("after the failure: %+v", v)
	}
}
