package orderstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is the application wired to a fresh database, as the service wires it.
type fixture struct {
	pool  *pgxpool.Pool
	store *orderstore.Store
	app   application.App
}

func newFixture(t *testing.T, opts ...func(*appkit.RunnerConfig)) fixture {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.MaxConns(40))
	codec := eventcodec.NewOrderRegistry()
	store := orderstore.NewStore(pool, codec)
	cfg := appkit.RunnerConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	return fixture{pool: pool, store: store, app: application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(store, orderstore.NewQueries(pool, codec), cfg)}}}
}

func (f fixture) place(t *testing.T, customer string) application.OrderView {
	t.Helper()
	res, err := f.app.Orders.PlaceOrder(appkit.AsSystem(context.Background()), application.PlaceOrder{OrderID: uuid.Must(application.NewID()), CustomerID: customer, Currency: "EUR"})
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	return res.View
}

func (f fixture) addLine(t *testing.T, id uuid.UUID, sku string, qty int, price int64) application.OrderView {
	t.Helper()
	res, err := f.app.Orders.AddOrderLine(appkit.AsSystem(context.Background()), application.AddOrderLine{OrderID: id, SKU: sku, Quantity: qty, UnitPriceCents: price})
	if err != nil {
		t.Fatalf("add line: %v", err)
	}
	return res.View
}

func (f fixture) get(t *testing.T, id uuid.UUID) application.OrderView {
	t.Helper()
	v, err := f.app.Orders.Get(appkit.AsSystem(context.Background()), id)
	if err != nil {
		t.Fatalf("get order: %v", err)
	}
	return v
}

func (f fixture) eventCount(t *testing.T, id uuid.UUID) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(appkit.AsSystem(context.Background()), `SELECT count(*) FROM events WHERE stream_type = 'order' AND stream_id = $1`, id.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fixedClock returns times one second apart from a fixed start.
func fixedClock(start time.Time) func() time.Time {
	var n int64
	return func() time.Time { n++; return start.Add(time.Duration(n) * time.Second) }
}

func sku(i int) string { return "sku-" + strconv.Itoa(i) }

var _ = order.StatusPending

func ptr[T any](v T) *T { return &v }
