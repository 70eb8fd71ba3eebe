package shipmentstore_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/shipmentstore"
	"github.com/example/orders/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is the application wired to a fresh database, as cmd/orders wires it.
type fixture struct {
	pool  *pgxpool.Pool
	store *shipmentstore.Store
	app   application.App
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.MaxConns(20))
	codec := eventcodec.NewOrderRegistry()
	orders := orderstore.NewQueries(pool, codec)
	app := application.NewApp(orderstore.NewStore(pool, codec), orders, application.RunnerConfig{})
	scodec := eventcodec.NewShipmentRegistry()
	store := shipmentstore.NewStore(pool, scodec)
	app.Shipments = application.NewShipments(store, shipmentstore.NewQueries(pool, scodec), orders, application.RunnerConfig{})
	return fixture{pool: pool, store: store, app: app}
}

// confirmedOrder places an order with two lines and confirms it (unless confirm is false).
func (f fixture) order(t *testing.T, confirm bool) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id := uuid.Must(application.NewID())
	must(f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "c", Currency: "EUR"}))(t)
	must(f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 2, UnitPriceCents: 100}))(t)
	must(f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "b", Quantity: 1, UnitPriceCents: 50}))(t)
	if confirm {
		must(f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}))(t)
	}
	return id
}

// must(call())(t) is call's result, failing the test on its error.
func must[R any](r R, err error) func(t *testing.T) R {
	return func(t *testing.T) R {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func (f fixture) get(t *testing.T, id uuid.UUID) application.ShipmentView {
	t.Helper()
	return must(f.app.Shipments.GetShipment.Handle(context.Background(), id))(t)
}

// Each command reads its own write: the read model, folded history and as-of agree.
func TestShipmentLifecycleReadsItsOwnWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	s := f.app.Shipments
	orderID := f.order(t, true)

	created := must(s.CreateShipment(ctx, application.CreateShipment{OrderID: orderID}))(t)
	id := shipment.ShipmentIDFor(orderID)
	want := []shipment.Item{{SKU: "a", Quantity: 2}, {SKU: "b", Quantity: 1}}
	if created.View.Version != 1 || created.View.State.ID != id || created.View.State.Status != shipment.StatusPending ||
		!reflect.DeepEqual(created.View.State.Items, want) {
		t.Fatalf("created %+v", created.View)
	}
	if got := f.get(t, id); !reflect.DeepEqual(got, created.View) {
		t.Fatalf("read model %+v\nwant %+v", got, created.View)
	}
	if _, err := s.CreateShipment(ctx, application.CreateShipment{OrderID: orderID}); !errors.Is(err, shipment.ErrExists) {
		t.Fatalf("second create: %v, want shipment_exists", err)
	}

	dispatched := must(s.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: id, Carrier: "DHL", TrackingNo: "JD1"}))(t)
	if got := f.get(t, id); !reflect.DeepEqual(got, dispatched.View) || got.State.Carrier != "DHL" || got.Version != 2 {
		t.Fatalf("after dispatch: read model %+v, command %+v", got, dispatched.View)
	}
	if _, err := s.CancelShipment(ctx, application.CancelShipment{ShipmentID: id}); !errors.Is(err, shipment.ErrAlreadyDispatched) {
		t.Fatalf("cancel after dispatch: %v", err)
	}
	delivered := must(s.DeliverShipment(ctx, application.DeliverShipment{ShipmentID: id}))(t)
	again := must(s.DeliverShipment(ctx, application.DeliverShipment{ShipmentID: id}))(t)
	if again.View.Version != 3 || !reflect.DeepEqual(f.get(t, id), delivered.View) {
		t.Fatalf("deliver twice: %+v / %+v", again.View, f.get(t, id))
	}

	history := must(s.ShipmentHistory.Handle(ctx, id))(t)
	if len(history) != 3 || history[0].Type != "ShipmentCreated" || history[2].Type != "ShipmentDelivered" {
		t.Fatalf("history %+v", history)
	}
	v1 := must(s.ShipmentAsOf.Handle(ctx, application.ShipmentAsOf{ShipmentID: id, Version: 1}))(t)
	if !reflect.DeepEqual(v1, created.View) {
		t.Fatalf("as of version 1: %+v, want %+v", v1, created.View)
	}
	if _, err := s.ShipmentAsOf.Handle(ctx, application.ShipmentAsOf{ShipmentID: id, Version: 4}); !errors.Is(err, shipment.ErrNotFound) {
		t.Fatalf("as of version 4: %v", err)
	}
}

func TestCreateShipmentChecksTheOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: uuid.New()}); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("unknown order: %v, want order_not_found", err)
	}
	pending := f.order(t, false)
	if _, err := f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: pending}); !errors.Is(err, shipment.ErrOrderNotConfirmed) {
		t.Fatalf("pending order: %v, want order_not_confirmed", err)
	}
	if _, err := f.app.Shipments.GetShipment.Handle(ctx, shipment.ShipmentIDFor(pending)); !errors.Is(err, shipment.ErrNotFound) {
		t.Fatalf("a refused create left a shipment: %v", err)
	}
}

// Applying the same events to the read model again changes nothing.
func TestProjectionIsIdempotentByVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	orderID := uuid.New()
	id := shipment.ShipmentIDFor(orderID)
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	events := []shipment.Event{
		shipment.ShipmentCreated{ShipmentID: id, OrderID: orderID, Items: []shipment.Item{{SKU: "a", Quantity: 1}}, CreatedAt: at},
		shipment.ShipmentDispatched{Carrier: "UPS", TrackingNo: "1Z", DispatchedAt: at.Add(time.Minute)},
		shipment.ShipmentDelivered{DeliveredAt: at.Add(time.Hour)},
	}
	err := f.store.WithinTx(ctx, func(ctx context.Context, tx application.StreamTx[shipment.State, shipment.Event]) error {
		recorded, err := tx.Append(ctx, id, 0, events, application.Metadata{}, at)
		if err != nil {
			return err
		}
		for range 2 {
			if err := shipmentstore.Project(tx.(aggregatestore.Queue), id, recorded); err != nil {
				return err
			}
		}
		for _, i := range []int{2, 0, 1} { // each once more, out of order
			if err := shipmentstore.Project(tx.(aggregatestore.Queue), id, recorded[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := application.ShipmentView{State: shipment.Decider.Fold(shipment.Decider.Initial, events...), Version: 3}
	if got := f.get(t, id); !reflect.DeepEqual(got, want) {
		t.Fatalf("after repeated projection:\n%+v\nwant\n%+v", got, want)
	}
}

// Concurrent dispatches of one pending shipment: exactly one wins, the others are told
// the shipment is no longer pending, and one event is recorded.
func TestConcurrentDispatchesExactlyOneWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	orderID := f.order(t, true)
	must(f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: orderID}))(t)
	id := shipment.ShipmentIDFor(orderID)

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.app.Shipments.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: id, Carrier: "DHL", TrackingNo: uuid.NewString()[:8]})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, shipment.ErrNotPending):
			t.Errorf("a losing dispatch: %v, want shipment_not_pending", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d dispatches won, want exactly 1", won)
	}
	if got := f.get(t, id); got.Version != 2 || got.State.Status != shipment.StatusDispatched {
		t.Fatalf("after the race: %+v", got)
	}
}

func TestListShipmentsFiltersAndPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var ids []uuid.UUID
	for range 5 {
		o := f.order(t, true)
		ids = append(ids, must(f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: o}))(t).View.State.ID)
	}
	must(f.app.Shipments.CancelShipment(ctx, application.CancelShipment{ShipmentID: ids[1]}))(t)

	var seen []uuid.UUID
	cursor := ""
	for {
		page := must(f.app.Shipments.ListShipments.Handle(ctx, application.ListShipments{Limit: 2, Cursor: cursor}))(t)
		for _, v := range page.Items {
			seen = append(seen, v.State.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != len(ids) {
		t.Fatalf("paged through %d shipments, want %d", len(seen), len(ids))
	}
	for i := range ids { // newest first
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("order %v, want newest first of %v", seen, ids)
		}
	}
	cancelled := must(f.app.Shipments.ListShipments.Handle(ctx, application.ListShipments{Status: shipment.StatusCancelled}))(t)
	if len(cancelled.Items) != 1 || cancelled.Items[0].State.ID != ids[1] {
		t.Fatalf("status filter: %+v", cancelled.Items)
	}
	byOrder := must(f.app.Shipments.ListShipments.Handle(ctx, application.ListShipments{OrderID: ptr(f.get(t, ids[3]).State.OrderID)}))(t)
	if len(byOrder.Items) != 1 || byOrder.Items[0].State.ID != ids[3] {
		t.Fatalf("order filter: %+v", byOrder.Items)
	}
}
func ptr[T any](v T) *T { return &v }
