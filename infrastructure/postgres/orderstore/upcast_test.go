package orderstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/eventcodec"
	es "github.com/example/orders/infrastructure/postgres/eventstore"
)

// An order placed by the first release (OrderPlaced v1, no currency) is read as today's
// shape, and commands on it keep working.
func TestStoredV1OrderPlacedIsUpcast(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := uuid.New()
	v1 := json.RawMessage(`{"order_id":"` + id.String() + `","customer_id":"legacy","placed_at":"2019-05-01T10:00:00Z"}`)
	err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		_, err := es.Append(ctx, tx, es.StreamID{Type: "order", ID: id.String()}, es.NoStream(),
			[]es.EventData{{Type: "OrderPlaced", SchemaVersion: 1, Payload: v1}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.app.Orders.AsOf(ctx, id, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.State.Currency != "EUR" || v.State.CustomerID != "legacy" || v.State.PlacedAt.Year() != 2019 {
		t.Fatalf("v1 order read as %+v", v)
	}
	// The write side loads it too: the line is accepted against the upcast state.
	res, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1, UnitPriceCents: 10})
	if err != nil || res.View.State.Currency != "EUR" || res.View.Version != 2 {
		t.Fatalf("add line to a v1 order: %+v %v", res.View, err)
	}
	page, _ := f.app.Orders.History(ctx, appkit.HistoryQuery{ID: id})
	history := page.Items
	if history[0].SchemaVersion != 1 || string(history[0].Data) != `{"order_id": "`+id.String()+`", "placed_at": "2019-05-01T10:00:00Z", "customer_id": "legacy"}` {
		t.Fatalf("history shows %d %s; it should show the event as stored", history[0].SchemaVersion, history[0].Data)
	}
}

func TestUnknownStoredEventFailsLoudly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "mia").State.ID
	err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		_, err := es.Append(ctx, tx, es.StreamID{Type: "order", ID: id.String()}, es.Exact(1),
			[]es.EventData{{Type: "OrderTeleported", SchemaVersion: 1, Payload: json.RawMessage(`{}`)}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id})
	if !errors.Is(err, eventcodec.ErrUnknownEvent) {
		t.Fatalf("a stream with an unknown event was folded anyway: %v", err)
	}
}
