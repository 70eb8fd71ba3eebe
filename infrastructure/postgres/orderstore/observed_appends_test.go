package orderstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/test/pgtest"
)

// appendLog is an AppendObserver that writes down each append it is told of.
type appendLog struct {
	mu  sync.Mutex
	log []string
}

func (a *appendLog) Appended(streamType string, events int, _ time.Duration, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log = append(a.log, fmt.Sprintf("%s %d %v", streamType, events, err))
}

// The append observer (the service's metrics) is told of a one-round-trip command's
// guarded append with its commit, with the number of events it appended.
func TestAppendsAreObservedWithTheirEvents(t *testing.T) {
	pool := pgtest.NewPool(t)
	codec := eventcodec.NewOrderRegistry()
	observed := &appendLog{}
	store := orderstore.NewStore(pool, codec).ObserveAppends(observed)
	orders := application.NewOrders(store, orderstore.NewQueries(pool, codec), appkit.RunnerConfig{})
	ctx := appkit.AsSystem(context.Background())
	id := uuid.Must(application.NewID())
	if _, err := orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "heidi", Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	if _, err := orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "s", Quantity: 1, UnitPriceCents: 1}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"order 1 <nil>", "order 1 <nil>"}; !slices.Equal(observed.log, want) {
		t.Fatalf("observed %q, want %q", observed.log, want)
	}
}
