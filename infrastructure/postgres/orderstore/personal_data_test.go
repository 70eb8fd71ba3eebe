package orderstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// A command's answer opens its personal data on the attempt's own connection: with a
// pool of one connection, asking for a second while holding the first never returns
// (as every connection of a full pool would, under load).
func TestACommandsAnswerOpensOnItsOwnConnection(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.MaxConns(1))
	app := testsupport.NewApp(t, pool)
	ctx, cancel := context.WithTimeout(appkit.AsSystem(context.Background()), 5*time.Second)
	defer cancel()
	contact := order.Contact{Name: "Kim", Email: "kim@example.com", Address: order.Address{Line1: "1 Way", PostalCode: "1000", City: "Brussels", Country: "BE"}}
	id := uuid.New()
	if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "kim", Currency: "EUR", Contact: &contact}); err != nil {
		t.Fatal(err)
	}
	res, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "s", Quantity: 1, UnitPriceCents: 1})
	if err != nil {
		t.Fatalf("add a line to an order with a contact, on a pool of one connection: %v", err)
	}
	if got, ok := res.View.State.Contact.Value(); !ok || got != contact {
		t.Fatalf("the answer's contact: %+v", res.View.State.Contact)
	}
}

// A data key kept for sealing that was erased meanwhile is refused by the insert of the
// events wherever the append runs: with the commit (an optimistic attempt) or at once
// (an attempt that read the stream). Either way the attempt is run again
// (ErrUnverified), nothing was written, and the next seal asks for the customer's key:
// a new one.
func TestAnErasedKeptKeyIsAskedForAgainWhereverTheAppendRuns(t *testing.T) {
	ctx := appkit.AsSystem(context.Background())
	pool := pgtest.NewPool(t)
	codec := eventcodec.NewOrderRegistry()
	store := orderstore.NewStore(pool, codec).UsePersonalData(testsupport.NewKeys(t))
	contact := order.Contact{Name: "Lea", Email: "lea@example.com", Address: order.Address{Line1: "1 Way", PostalCode: "1000", City: "Brussels", Country: "BE"}}
	place := func(mode appkit.Mode) (uuid.UUID, error) {
		id := uuid.New()
		_, err := store.Attempt(ctx, id, mode, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
			v, err := tx.Load(ctx)
			if err != nil {
				return err
			}
			placed := order.OrderPlaced{OrderID: id, CustomerID: "lea", Currency: "EUR", Contact: kit.Clear("lea", contact), PlacedAt: time.Now()}
			return tx.Append(ctx, v.Version, []order.Event{placed}, appkit.Metadata{}, placed.PlacedAt)
		})
		return id, err
	}
	keyOf := func() (key string) {
		_ = pool.QueryRow(ctx, `SELECT key_id::text FROM personal_data_keys WHERE subject = 'lea'`).Scan(&key)
		return key
	}
	for _, mode := range []appkit.Mode{appkit.Optimistic, appkit.Read} {
		if _, err := place(mode); err != nil { // keeps lea's key
			t.Fatalf("%v: %v", mode, err)
		}
		kept := keyOf()
		if _, err := personaldata.Erase(ctx, pool, "lea"); err != nil {
			t.Fatal(err)
		}
		id, err := place(mode)
		if !errors.Is(err, appkit.ErrUnverified) {
			t.Fatalf("%v: sealing with the erased kept key: %v, want ErrUnverified", mode, err)
		}
		if n := (fixture{pool: pool}).eventCount(t, id); n != 0 || keyOf() != "" {
			t.Fatalf("%v: the refused attempt left %d events and key %q", mode, n, keyOf())
		}
		if _, err := place(mode); err != nil || keyOf() == "" || keyOf() == kept {
			t.Fatalf("%v: the next seal: %v, key %q (the erased one was %s)", mode, err, keyOf(), kept)
		}
	}
}
