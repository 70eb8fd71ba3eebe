package orderstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
)

// An append that loses the race to another writer (in Read mode, after the stream was
// read) is a *appkit.VersionConflictError naming the aggregate, its id, the version the
// attempt read and the one the other writer left: what the handler retries on, and
// what the API answers once it stops retrying.
func TestALostAppendNamesTheStreamAndBothVersions(t *testing.T) {
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "grace").State.ID
	at := time.Now().UTC().Truncate(time.Microsecond)
	_, err := f.store.Attempt(ctx, id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
		current, err := tx.Load(ctx)
		if err != nil {
			return err
		}
		// Another writer commits on another connection: the stream is at 2.
		if _, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "other-writer", Quantity: 1, UnitPriceCents: 1}); err != nil {
			return err
		}
		return tx.Append(ctx, current.Version, []order.Event{order.OrderConfirmed{ConfirmedAt: at}}, appkit.Metadata{}, at)
	})
	var conflict *appkit.VersionConflictError
	if !errors.As(err, &conflict) || conflict.Resource != order.Resource || conflict.ID != id || conflict.Expected != 1 || conflict.Actual != 2 || conflict.Retried {
		t.Fatalf("err = %v (%+v), want a version conflict on order %s, expected 1, actual 2", err, conflict, id)
	}
	if n := f.eventCount(t, id); n != 2 {
		t.Fatalf("%d events, want the other writer's 2", n)
	}
}
