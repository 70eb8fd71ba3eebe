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
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/shipmentstore"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
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
	// store is a second store over the same database, for the tests that run a
	// transaction by hand.
	return fixture{pool: pool, store: shipmentstore.NewStore(pool, eventcodec.NewShipmentRegistry()), app: testsupport.NewApp(t, pool)}
}

// order places an order of customer "c" with two lines and confirms it (unless confirm
// is false).
func (f fixture) order(t *testing.T, confirm bool) uuid.UUID { return f.orderOf(t, "c", confirm) }

// orderOf is order for the given customer.
func (f fixture) orderOf(t *testing.T, customer string, confirm bool) uuid.UUID {
	t.Helper()
	ctx := appkit.AsSystem(context.Background())
	id := uuid.Must(application.NewID())
	must(f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: customer, Currency: "EUR"}))(t)
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
	return must(f.app.Shipments.Get(appkit.AsSystem(context.Background()), id))(t)
}

// Each command reads its own write: the read model, folded history and as-of agree.
func TestShipmentLifecycleReadsItsOwnWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	s := f.app.Shipments
	orderID := f.order(t, true)

	created := must(s.CreateShipment(ctx, application.CreateShipment{OrderID: orderID}))(t)
	id := shipment.ShipmentIDFor(orderID)
	want := []shipment.Item{{SKU: "a", Quantity: 2}, {SKU: "b", Quantity: 1}}
	if created.View.Version != 1 || created.View.State.ID != id || created.View.State.Status != shipment.StatusPending ||
		created.View.State.CustomerID != "c" ||
		!reflect.DeepEqual(created.View.State.Items, want) {
		t.Fatalf("created %+v", created.View)
	}
	if got := f.get(t, id); !reflect.DeepEqual(got, noPosition(created.View)) {
		t.Fatalf("read model %+v\nwant %+v", got, created.View)
	}
	if _, err := s.CreateShipment(ctx, application.CreateShipment{OrderID: orderID}); !errors.Is(err, shipment.ErrExists) {
		t.Fatalf("second create: %v, want shipment_exists", err)
	}

	dispatched := must(s.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: id, Carrier: "DHL", TrackingNo: "JD1"}))(t)
	if got := f.get(t, id); !reflect.DeepEqual(got, noPosition(dispatched.View)) || got.State.Carrier != "DHL" || got.Version != 2 {
		t.Fatalf("after dispatch: read model %+v, command %+v", got, dispatched.View)
	}
	if _, err := s.CancelShipment(ctx, application.CancelShipment{ShipmentID: id}); !errors.Is(err, shipment.ErrAlreadyDispatched) {
		t.Fatalf("cancel after dispatch: %v", err)
	}
	delivered := must(s.DeliverShipment(ctx, application.DeliverShipment{ShipmentID: id}))(t)
	again := must(s.DeliverShipment(ctx, application.DeliverShipment{ShipmentID: id}))(t)
	if again.View.Version != 3 || !reflect.DeepEqual(f.get(t, id), noPosition(delivered.View)) {
		t.Fatalf("deliver twice: %+v / %+v", again.View, f.get(t, id))
	}

	history := must(s.History(ctx, appkit.HistoryQuery{ID: id}))(t).Items
	if len(history) != 3 || history[0].Type != "ShipmentCreated" || history[2].Type != "ShipmentDelivered" {
		t.Fatalf("history %+v", history)
	}
	v1 := must(s.AsOf(ctx, id, 1, nil))(t)
	if !reflect.DeepEqual(v1, noPosition(created.View)) {
		t.Fatalf("as of version 1: %+v, want %+v", v1, created.View)
	}
	if _, err := s.AsOf(ctx, id, 4, nil); !errors.Is(err, shipment.ErrNotFound) {
		t.Fatalf("as of version 4: %v", err)
	}
}

func TestCreateShipmentChecksTheOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	if _, err := f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: uuid.New()}); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("unknown order: %v, want order_not_found", err)
	}
	pending := f.order(t, false)
	if _, err := f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: pending}); !errors.Is(err, shipment.ErrOrderNotConfirmed) {
		t.Fatalf("pending order: %v, want order_not_confirmed", err)
	}
	if _, err := f.app.Shipments.Get(ctx, shipment.ShipmentIDFor(pending)); !errors.Is(err, shipment.ErrNotFound) {
		t.Fatalf("a refused create left a shipment: %v", err)
	}
}

// Applying the same events to the read model again changes nothing.
func TestProjectionIsIdempotentByVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	orderID := uuid.New()
	id := shipment.ShipmentIDFor(orderID)
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	events := []shipment.Event{
		shipment.ShipmentCreated{ShipmentID: id, OrderID: orderID, CustomerID: "c", Items: []shipment.Item{{SKU: "a", Quantity: 1}}, CreatedAt: at},
		shipment.ShipmentDispatched{Carrier: "UPS", TrackingNo: "1Z", DispatchedAt: at.Add(time.Minute)},
		shipment.ShipmentDelivered{DeliveredAt: at.Add(time.Hour)},
	}
	_, err := f.store.Attempt(ctx, id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[shipment.State, shipment.Event]) error {
		err := tx.Append(ctx, 0, events, appkit.Metadata{}, at)
		if err != nil {
			return err
		}
		recorded := testsupport.Recorded(1, at, events...)
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
	ctx := appkit.AsSystem(context.Background())
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
	ctx := appkit.AsSystem(context.Background())
	var ids []uuid.UUID
	for range 5 {
		o := f.order(t, true)
		ids = append(ids, must(f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: o}))(t).View.State.ID)
	}
	must(f.app.Shipments.CancelShipment(ctx, application.CancelShipment{ShipmentID: ids[1]}))(t)

	var seen []uuid.UUID
	cursor := ""
	for {
		page := must(f.app.Shipments.ListShipments(ctx, application.ListShipments{Limit: 2, Cursor: cursor}))(t)
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
	cancelled := must(f.app.Shipments.ListShipments(ctx, application.ListShipments{Status: shipment.StatusCancelled}))(t)
	if len(cancelled.Items) != 1 || cancelled.Items[0].State.ID != ids[1] {
		t.Fatalf("status filter: %+v", cancelled.Items)
	}
	byOrder := must(f.app.Shipments.ListShipments(ctx, application.ListShipments{OrderID: ptr(f.get(t, ids[3]).State.OrderID)}))(t)
	if len(byOrder.Items) != 1 || byOrder.Items[0].State.ID != ids[3] {
		t.Fatalf("order filter: %+v", byOrder.Items)
	}
}
func ptr[T any](v T) *T { return &v }

// The shipment rules of issue 12: only staff run shipment commands (a customer is
// forbidden before anything is read); a customer sees the shipments of its own orders
// only, another customer's answering not-found like a missing one; lists are narrowed
// to the caller; a context without a principal may do nothing.
func TestShipmentAccessRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	staff := appkit.AsSystem(context.Background())
	s := f.app.Shipments
	aliceOrder, bobOrder := f.orderOf(t, "alice", true), f.orderOf(t, "bob", true)
	aliceShip := must(s.CreateShipment(staff, application.CreateShipment{OrderID: aliceOrder}))(t).View.State.ID
	bobShip := must(s.CreateShipment(staff, application.CreateShipment{OrderID: bobOrder}))(t).View.State.ID
	alice := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: "alice"})

	// Commands: 403 for a customer, even on its own shipment, and before the order is
	// read (an unknown order is forbidden too, not order_not_found).
	for name, run := range map[string]func() error{
		"create own": func() error {
			_, err := s.CreateShipment(alice, application.CreateShipment{OrderID: aliceOrder})
			return err
		},
		"create unknown": func() error {
			_, err := s.CreateShipment(alice, application.CreateShipment{OrderID: uuid.New()})
			return err
		},
		"dispatch own": func() error {
			_, err := s.DispatchShipment(alice, application.DispatchShipment{ShipmentID: aliceShip, Carrier: "DHL", TrackingNo: "1"})
			return err
		},
		"dispatch unknown": func() error {
			_, err := s.DispatchShipment(alice, application.DispatchShipment{ShipmentID: uuid.New(), Carrier: "DHL", TrackingNo: "1"})
			return err
		},
		"deliver own": func() error {
			_, err := s.DeliverShipment(alice, application.DeliverShipment{ShipmentID: aliceShip})
			return err
		},
		"cancel own": func() error {
			_, err := s.CancelShipment(alice, application.CancelShipment{ShipmentID: aliceShip})
			return err
		},
		"cancel bob's": func() error {
			_, err := s.CancelShipment(alice, application.CancelShipment{ShipmentID: bobShip})
			return err
		},
	} {
		if err := run(); !errors.Is(err, appkit.ErrForbidden) {
			t.Errorf("alice %s: %v, want forbidden", name, err)
		}
	}
	if _, err := s.CreateShipment(context.Background(), application.CreateShipment{OrderID: aliceOrder}); !errors.Is(err, appkit.ErrUnauthenticated) {
		t.Errorf("create without a principal: %v, want unauthenticated", err)
	}
	if got := f.get(t, aliceShip); got.Version != 1 || got.State.Status != shipment.StatusPending {
		t.Fatalf("alice's attempts changed her shipment: %+v", got)
	}

	// Reads of her own shipment.
	if v := must(s.Get(alice, aliceShip))(t); v.State.CustomerID != "alice" || v.State.OrderID != aliceOrder {
		t.Errorf("alice gets her shipment: %+v", v)
	}
	if v := must(s.AsOf(alice, aliceShip, 1, nil))(t); v.State.CustomerID != "alice" {
		t.Errorf("alice's shipment as of 1: %+v", v)
	}
	if h := must(s.History(alice, appkit.HistoryQuery{ID: aliceShip}))(t); len(h.Items) != 1 {
		t.Errorf("alice's history: %+v", h)
	}

	// Bob's shipment is not found for alice, like a missing one.
	for name, run := range map[string]func() error{
		"get": func() error { _, err := s.Get(alice, bobShip); return err },
		"as of": func() error {
			_, err := s.AsOf(alice, bobShip, 1, nil)
			return err
		},
		"history": func() error {
			_, err := s.History(alice, appkit.HistoryQuery{ID: bobShip})
			return err
		},
		"get without a principal": func() error {
			_, err := s.Get(context.Background(), bobShip)
			return err
		},
	} {
		if err := run(); !errors.Is(err, shipment.ErrNotFound) {
			t.Errorf("alice %s bob's shipment: %v, want shipment_not_found", name, err)
		}
	}
	// events:read reads every history.
	reader := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: "alice", Scopes: []string{appkit.ScopeEventsRead}})
	if h := must(s.History(reader, appkit.HistoryQuery{ID: bobShip}))(t); len(h.Items) != 1 {
		t.Errorf("events:read history of bob's shipment: %+v", h)
	}

	// Lists are narrowed to the caller.
	ids := func(ctx context.Context, q application.ListShipments) []uuid.UUID {
		t.Helper()
		out := []uuid.UUID{}
		for _, v := range must(s.ListShipments(ctx, q))(t).Items {
			out = append(out, v.State.ID)
		}
		return out
	}
	for name, c := range map[string]struct {
		ctx  context.Context
		q    application.ListShipments
		want []uuid.UUID
	}{
		"alice, all":                  {alice, application.ListShipments{}, []uuid.UUID{aliceShip}},
		"alice, her order":            {alice, application.ListShipments{OrderID: &aliceOrder}, []uuid.UUID{aliceShip}},
		"alice, bob's order":          {alice, application.ListShipments{OrderID: &bobOrder}, []uuid.UUID{}},
		"alice, bob's customer id":    {alice, application.ListShipments{CustomerID: "bob"}, []uuid.UUID{}},
		"alice, pending":              {alice, application.ListShipments{Status: shipment.StatusPending}, []uuid.UUID{aliceShip}},
		"staff, all":                  {staff, application.ListShipments{}, []uuid.UUID{bobShip, aliceShip}},
		"staff, bob's customer id":    {staff, application.ListShipments{CustomerID: "bob"}, []uuid.UUID{bobShip}},
		"staff, bob's order of alice": {staff, application.ListShipments{OrderID: &bobOrder, CustomerID: "alice"}, []uuid.UUID{}},
	} {
		if got := ids(c.ctx, c.q); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
	if _, err := s.ListShipments(context.Background(), application.ListShipments{}); !errors.Is(err, appkit.ErrUnauthenticated) {
		t.Errorf("list without a principal: %v, want unauthenticated", err)
	}
}

// noPosition drops the log position a command's result carries (X-Event-Position): the
// reads do not carry it.
func noPosition(v application.ShipmentView) application.ShipmentView {
	v.Position = 0
	return v
}

// A shipment of an order with a contact carries its recipient and address, sealed in
// the log; the read model holds the same sealed value (copied from the event) and reads
// back as the command answered it.
func TestAShipmentsAddressReadsBackFromItsReadModel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := uuid.Must(application.NewID())
	contact := order.Contact{Name: "Noor", Email: "noor@example.com", Address: order.Address{Line1: "2 Quay", PostalCode: "2000", City: "Antwerp", Country: "BE"}}
	must(f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "noor", Currency: "EUR", Contact: &contact}))(t)
	must(f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1, UnitPriceCents: 100}))(t)
	must(f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}))(t)
	created := must(f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: id}))(t)
	want := shipment.ShipTo{Name: "Noor", Line1: "2 Quay", PostalCode: "2000", City: "Antwerp", Country: "BE"}
	if got, ok := created.View.State.ShipTo.Value(); !ok || got != want {
		t.Fatalf("the answer's address: %+v", created.View.State.ShipTo)
	}
	if got, ok := f.get(t, created.View.State.ID).State.ShipTo.Value(); !ok || got != want {
		t.Fatalf("the read model's address: %+v, want %+v", got, want)
	}
}
