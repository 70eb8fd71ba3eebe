package shipmentstore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/shipmentstore"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is the application wired to a fresh database, as cmd/orders wires it, and
// a second shipment store over it, for the tests that run a transaction by hand.
type fixture struct {
	store *shipmentstore.Store
	app   application.App
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.MaxConns(20))
	return fixture{store: shipmentstore.NewStore(pool, eventcodec.NewShipmentRegistry()), app: testsupport.NewApp(t, pool)}
}

// order places an order of customer "c" with two lines and confirms it (unless confirm
// is false).
func (f fixture) order(t *testing.T, confirm bool) uuid.UUID { return f.orderOf(t, "c", confirm) }

// orderOf is order for the given customer.
func (f fixture) orderOf(t *testing.T, customer string, confirm bool) uuid.UUID {
	t.Helper()
	ctx := appkit.AsSystem(context.Background())
	id := uuid.Must(application.NewID())
	testsupport.Must(f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: customer, Currency: "EUR"}))(t)
	testsupport.Must(f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 2, UnitPriceCents: 100}))(t)
	testsupport.Must(f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "b", Quantity: 1, UnitPriceCents: 50}))(t)
	if confirm {
		testsupport.Must(f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}))(t)
	}
	return id
}

func (f fixture) get(t *testing.T, id uuid.UUID) application.ShipmentView {
	t.Helper()
	return testsupport.Must(f.app.Shipments.Get(appkit.AsSystem(context.Background()), id))(t)
}

// Each command reads its own write: the read model, folded history and as-of agree.
func TestShipmentLifecycleReadsItsOwnWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	s := f.app.Shipments
	orderID := f.order(t, true)

	created := testsupport.Must(s.CreateShipment(ctx, application.CreateShipment{OrderID: orderID}))(t)
	id := shipment.ShipmentIDFor(orderID)
	want := []shipment.Item{{SKU: "a", Quantity: 2}, {SKU: "b", Quantity: 1}}
	if created.View.Version != 1 || created.View.State.ID != id || created.View.State.Status != shipment.StatusPending ||
		created.View.State.CustomerID != "c" ||
		!reflect.DeepEqual(created.View.State.Items, want) {
		t.Fatalf("created %+v", created.View)
	}
	if got := f.get(t, id); !reflect.DeepEqual(got, testsupport.NoPosition(created.View)) {
		t.Fatalf("read model %+v\nwant %+v", got, created.View)
	}
	if _, err := s.CreateShipment(ctx, application.CreateShipment{OrderID: orderID}); !errors.Is(err, shipment.ErrExists) {
		t.Fatalf("second create: %v, want shipment_exists", err)
	}

	dispatched := testsupport.Must(s.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: id, Carrier: "DHL", TrackingNo: "JD1"}))(t)
	if got := f.get(t, id); !reflect.DeepEqual(got, testsupport.NoPosition(dispatched.View)) || got.State.Carrier != "DHL" || got.Version != 2 {
		t.Fatalf("after dispatch: read model %+v, command %+v", got, dispatched.View)
	}
	if _, err := s.CancelShipment(ctx, application.CancelShipment{ShipmentID: id}); !errors.Is(err, shipment.ErrAlreadyDispatched) {
		t.Fatalf("cancel after dispatch: %v", err)
	}
	delivered := testsupport.Must(s.DeliverShipment(ctx, application.DeliverShipment{ShipmentID: id}))(t)
	again := testsupport.Must(s.DeliverShipment(ctx, application.DeliverShipment{ShipmentID: id}))(t)
	if again.View.Version != 3 || !reflect.DeepEqual(f.get(t, id), testsupport.NoPosition(delivered.View)) {
		t.Fatalf("deliver twice: %+v / %+v", again.View, f.get(t, id))
	}

	history := testsupport.Must(s.History(ctx, appkit.HistoryQuery{ID: id}))(t).Items
	if len(history) != 3 || history[0].Type != "ShipmentCreated" || history[2].Type != "ShipmentDelivered" {
		t.Fatalf("history %+v", history)
	}
	v1 := testsupport.Must(s.AsOf(ctx, id, 1, nil))(t)
	if !reflect.DeepEqual(v1, testsupport.NoPosition(created.View)) {
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
	orderID := uuid.New()
	id := shipment.ShipmentIDFor(orderID)
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	testsupport.CheckProjectionIsIdempotent(t, f.store, shipmentstore.Project, shipment.Decider, f.app.Shipments.Owned, id, []shipment.Event{
		shipment.ShipmentCreated{ShipmentID: id, OrderID: orderID, CustomerID: "c", Items: []shipment.Item{{SKU: "a", Quantity: 1}}, CreatedAt: at},
		shipment.ShipmentDispatched{Carrier: "UPS", TrackingNo: "1Z", DispatchedAt: at.Add(time.Minute)},
		shipment.ShipmentDelivered{DeliveredAt: at.Add(time.Hour)},
	})
}

// Concurrent dispatches of one pending shipment: exactly one wins, the others are told
// the shipment is no longer pending, and one event is recorded.
func TestConcurrentDispatchesExactlyOneWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	orderID := f.order(t, true)
	testsupport.Must(f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: orderID}))(t)
	id := shipment.ShipmentIDFor(orderID)

	testsupport.CheckOneWins(t, 8, shipment.ErrNotPending, func() error {
		_, err := f.app.Shipments.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: id, Carrier: "DHL", TrackingNo: uuid.NewString()[:8]})
		return err
	})
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
		ids = append(ids, testsupport.Must(f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: o}))(t).View.State.ID)
	}
	testsupport.Must(f.app.Shipments.CancelShipment(ctx, application.CancelShipment{ShipmentID: ids[1]}))(t)

	var seen []uuid.UUID
	for _, v := range testsupport.PageAll(t, 2, func(limit int, cursor string) (application.ShipmentPage, error) {
		return f.app.Shipments.ListShipments(ctx, application.ListShipments{Limit: limit, Cursor: cursor})
	}) {
		seen = append(seen, v.State.ID)
	}
	if len(seen) != len(ids) {
		t.Fatalf("paged through %d shipments, want %d", len(seen), len(ids))
	}
	for i := range ids { // newest first
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("order %v, want newest first of %v", seen, ids)
		}
	}
	cancelled := testsupport.Must(f.app.Shipments.ListShipments(ctx, application.ListShipments{Status: shipment.StatusCancelled}))(t)
	if len(cancelled.Items) != 1 || cancelled.Items[0].State.ID != ids[1] {
		t.Fatalf("status filter: %+v", cancelled.Items)
	}
	byOrder := testsupport.Must(f.app.Shipments.ListShipments(ctx, application.ListShipments{OrderID: ptr(f.get(t, ids[3]).State.OrderID)}))(t)
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
	aliceShip := testsupport.Must(s.CreateShipment(staff, application.CreateShipment{OrderID: aliceOrder}))(t).View.State.ID
	bobShip := testsupport.Must(s.CreateShipment(staff, application.CreateShipment{OrderID: bobOrder}))(t).View.State.ID
	alice := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: "alice"})

	// Commands: 403 for a customer, even on its own shipment, and before the order is
	// read (an unknown order is forbidden too, not order_not_found).
	testsupport.EachIs(t, appkit.ErrForbidden, map[string]func() error{
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
	})
	if _, err := s.CreateShipment(context.Background(), application.CreateShipment{OrderID: aliceOrder}); !errors.Is(err, appkit.ErrUnauthenticated) {
		t.Errorf("create without a principal: %v, want unauthenticated", err)
	}
	if got := f.get(t, aliceShip); got.Version != 1 || got.State.Status != shipment.StatusPending {
		t.Fatalf("alice's attempts changed her shipment: %+v", got)
	}

	// Reads: her own shipments; bob's is not found for her, like a missing one.
	testsupport.CheckOwnedReads(t, s.Owned, shipment.ErrNotFound, "alice", aliceShip, bobShip)

	// Lists are narrowed to the caller.
	ids := func(ctx context.Context, q application.ListShipments) []uuid.UUID {
		t.Helper()
		out := []uuid.UUID{}
		for _, v := range testsupport.Must(s.ListShipments(ctx, q))(t).Items {
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

// A shipment of an order with a contact carries its recipient and address, sealed in
// the log; the read model holds the same sealed value (copied from the event) and reads
// back as the command answered it.
func TestAShipmentsAddressReadsBackFromItsReadModel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := uuid.Must(application.NewID())
	contact := order.Contact{Name: "Noor", Email: "noor@example.com", Address: order.Address{Line1: "2 Quay", PostalCode: "2000", City: "Antwerp", Country: "BE"}}
	testsupport.Must(f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "noor", Currency: "EUR", Contact: &contact}))(t)
	testsupport.Must(f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1, UnitPriceCents: 100}))(t)
	testsupport.Must(f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}))(t)
	created := testsupport.Must(f.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: id}))(t)
	want := shipment.ShipTo{Name: "Noor", Line1: "2 Quay", PostalCode: "2000", City: "Antwerp", Country: "BE"}
	if got, ok := created.View.State.ShipTo.Value(); !ok || got != want {
		t.Fatalf("the answer's address: %+v", created.View.State.ShipTo)
	}
	if got, ok := f.get(t, created.View.State.ID).State.ShipTo.Value(); !ok || got != want {
		t.Fatalf("the read model's address: %+v, want %+v", got, want)
	}
}
