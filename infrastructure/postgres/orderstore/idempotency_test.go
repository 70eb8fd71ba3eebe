package orderstore_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// render stores the version the command produced, or the error, as a transport would.
func render(calls *atomic.Int32) func(application.OrderView, error) (application.StoredResponse, bool) {
	return func(v application.OrderView, err error) (application.StoredResponse, bool) {
		calls.Add(1)
		if err != nil {
			var conflict *order.ConflictError
			return application.StoredResponse{Status: 409, Body: []byte(err.Error())}, errors.As(err, &conflict)
		}
		return application.StoredResponse{Status: 200, ContentType: "text/plain", Headers: map[string]string{"ETag": strconv.Quote(strconv.FormatInt(v.Version, 10))},
			Body: []byte(v.State.ID.String() + "@" + strconv.FormatInt(v.Version, 10))}, true
	}
}

func TestIdempotencyKeyRunsTheCommandOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := application.AsSystem(context.Background())
	id := f.place(t, "nora").State.ID
	var calls atomic.Int32
	cmd := func(key, fingerprint string) (application.OrderResult, error) {
		return f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1, UnitPriceCents: 5,
			Options: application.OrderOptions{Idempotency: &application.Idempotency[order.State]{Key: key, Fingerprint: fingerprint, Render: render(&calls)}}})
	}
	first, err := cmd("key-1", "fp-A")
	if err != nil || first.Replayed || first.View.Version != 2 {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := cmd("key-1", "fp-A")
	if err != nil || !again.Replayed {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if string(again.Response.Body) != id.String()+"@2" || again.Response.Status != 200 || again.Response.Headers["ETag"] != `"2"` || again.Response.ContentType != "text/plain" {
		t.Fatalf("replayed %+v", again.Response)
	}
	if _, err := cmd("key-1", "fp-B"); !errors.Is(err, application.ErrIdempotencyKeyReused) {
		t.Fatalf("same key, other request: %v", err)
	}
	if f.eventCount(t, id) != 2 || calls.Load() != 1 {
		t.Fatalf("%d events, %d renders: the repeat ran the command", f.eventCount(t, id), calls.Load())
	}
	if second, err := cmd("key-2", "fp-A"); err != nil || second.View.Version != 3 {
		t.Fatalf("a new key runs again: %+v %v", second, err)
	}
}

func TestIdempotencyKeyRemembersARejection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := application.AsSystem(context.Background())
	id := f.place(t, "omar").State.ID // no lines: confirm is rejected
	var calls atomic.Int32
	confirm := func() (application.OrderResult, error) {
		return f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id,
			Options: application.OrderOptions{Idempotency: &application.Idempotency[order.State]{Key: "confirm-1", Fingerprint: "fp", Render: render(&calls)}}})
	}
	if _, err := confirm(); !errors.Is(err, order.ErrNoLines) {
		t.Fatalf("first confirm: %v", err)
	}
	f.addLine(t, id, "a", 1, 1)
	res, err := confirm()
	if err != nil || !res.Replayed || res.Response.Status != 409 {
		t.Fatalf("repeat after the order changed should replay the 409: %+v %v", res, err)
	}
}

// Twenty identical requests at once: the command runs once, all get the same answer.
func TestConcurrentRepeatsRunOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := application.AsSystem(context.Background())
	id := f.place(t, "pia").State.ID
	var calls atomic.Int32
	const n = 20
	bodies := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			res, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "x", Quantity: 1,
				Options: application.OrderOptions{Idempotency: &application.Idempotency[order.State]{Key: "burst", Fingerprint: "same", Render: render(&calls)}}})
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			bodies[i] = string(res.Response.Body)
		}(i)
	}
	close(start)
	wg.Wait()
	for i, b := range bodies {
		if b != id.String()+"@2" {
			t.Fatalf("request %d got %q", i, b)
		}
	}
	if f.eventCount(t, id) != 2 || calls.Load() != 1 {
		t.Fatalf("%d events and %d renders after %d concurrent repeats", f.eventCount(t, id), calls.Load(), n)
	}
}

func TestExpiredIdempotencyKeysAreForgotten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *application.RunnerConfig) { c.IdempotencyRetention = time.Millisecond })
	ctx := application.AsSystem(context.Background())
	var calls atomic.Int32
	place := func() (application.OrderResult, error) {
		return f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: uuid.New(), CustomerID: "quinn", Currency: "EUR",
			Options: application.OrderOptions{Idempotency: &application.Idempotency[order.State]{Key: "short", Fingerprint: "fp", Render: render(&calls)}}})
	}
	if _, err := place(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	res, err := place()
	if err != nil || res.Replayed {
		t.Fatalf("an expired key should run again: %+v %v", res, err)
	}
	time.Sleep(20 * time.Millisecond)
	n, err := aggregatestore.DeleteExpiredIdempotencyKeys(ctx, f.pool)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d expired keys: %v", n, err)
	}
}
