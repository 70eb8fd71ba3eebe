package orderstore_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

func once(key, fingerprint string) application.OrderOptions {
	return application.OrderOptions{Idempotency: &appkit.Idempotency{Key: key, Fingerprint: fingerprint}}
}

func TestIdempotencyKeyRunsTheCommandOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "nora").State.ID
	cmd := func(key, fingerprint string) (application.OrderResult, error) {
		return f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "a", Quantity: 1, UnitPriceCents: 5,
			Options: once(key, fingerprint)})
	}
	first, err := cmd("key-1", "fp-A")
	if err != nil || first.Replayed || first.View.Version != 2 {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := cmd("key-1", "fp-A")
	if err != nil || !again.Replayed {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if again.View.Version != 2 || again.View.Position != first.View.Position || len(again.View.State.Lines) != 1 || again.View.State.ID != id {
		t.Fatalf("replayed %+v, want the first outcome %+v", again.View, first.View)
	}
	if _, err := cmd("key-1", "fp-B"); !errors.Is(err, appkit.ErrIdempotencyKeyReused) {
		t.Fatalf("same key, other request: %v", err)
	}
	if f.eventCount(t, id) != 2 {
		t.Fatalf("%d events: the repeat ran the command", f.eventCount(t, id))
	}
	if second, err := cmd("key-2", "fp-A"); err != nil || second.View.Version != 3 {
		t.Fatalf("a new key runs again: %+v %v", second, err)
	}
}

func TestIdempotencyKeyRemembersARejection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "omar").State.ID // no lines: confirm is rejected
	confirm := func() (application.OrderResult, error) {
		return f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id,
			Options: once("confirm-1", "fp")})
	}
	if _, err := confirm(); !errors.Is(err, order.ErrNoLines) {
		t.Fatalf("first confirm: %v", err)
	}
	f.addLine(t, id, "a", 1, 1)
	res, err := confirm()
	if !res.Replayed || !errors.Is(err, order.ErrNoLines) {
		t.Fatalf("repeat after the order changed should replay the refusal: %+v %v", res, err)
	}
}

// Twenty identical requests at once: the command runs once, all get the same answer.
func TestConcurrentRepeatsRunOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "pia").State.ID
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
				Options: once("burst", "same")})
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			bodies[i] = res.View.State.ID.String() + "@" + strconv.FormatInt(res.View.Version, 10)
		}(i)
	}
	close(start)
	wg.Wait()
	for i, b := range bodies {
		if b != id.String()+"@2" {
			t.Fatalf("request %d got %q", i, b)
		}
	}
	if f.eventCount(t, id) != 2 {
		t.Fatalf("%d events after %d concurrent repeats", f.eventCount(t, id), n)
	}
}

func TestExpiredIdempotencyKeysAreForgotten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *appkit.RunnerConfig) { c.IdempotencyRetention = time.Millisecond })
	ctx := appkit.AsSystem(context.Background())
	place := func() (application.OrderResult, error) {
		return f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: uuid.New(), CustomerID: "quinn", Currency: "EUR",
			Options: once("short", "fp")})
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

// A key kept by the release before outcomes (an HTTP response in status, headers, body)
// is still answered, without running the command again, until it expires.
func TestLegacyKeptResponsesAreReplayed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "legacy").State.ID
	legacy := func(key string, status int, headers, body string) {
		t.Helper()
		_, err := f.pool.Exec(ctx, `INSERT INTO idempotency_keys (scope, key, fingerprint, status, content_type, headers, body, expires_at)
			VALUES ('system', $1, 'fp', $2, 'application/json', $3, $4, now() + interval '1 hour')`, key, status, headers, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
	}
	legacy("ok", 200, `{"ETag": "\"1\""}`, `{"id": "`+id.String()+`", "version": 1}`)
	legacy("minimal", 204, `{"ETag": "\"1\"", "Location": "/orders/`+id.String()+`"}`, ``)
	legacy("refused", 409, `{}`, `{"type":"x","title":"Conflict with the order's state","status":409,"detail":"An order needs lines.","code":"order_has_no_lines"}`)
	res, err := f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id, Options: once("ok", "fp")})
	if err != nil || !res.Replayed || res.View.Version != 1 || res.View.State.ID != id {
		t.Fatalf("legacy success: %+v %v", res, err)
	}
	// A repeat of a minimal response names the stream in Location only, and may come
	// with another id (a create whose id the server chose).
	res, err = f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: uuid.New(), Options: once("minimal", "fp")})
	if err != nil || !res.Replayed || res.View.Version != 1 || res.View.State.ID != id {
		t.Fatalf("legacy minimal success: %+v %v", res, err)
	}
	_, err = f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id, Options: once("refused", "fp")})
	var conflict *kit.ConflictError
	if !errors.As(err, &conflict) || conflict.Code != "order_has_no_lines" || conflict.Resource != "order" || conflict.Message != "An order needs lines." {
		t.Fatalf("legacy refusal: %v (%+v)", err, conflict)
	}
	if f.eventCount(t, id) != 1 {
		t.Fatal("a legacy key ran its command again")
	}
}
