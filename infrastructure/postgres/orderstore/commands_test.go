package orderstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
)

// After every command, the read model already shows what the command returned.
func TestLifeCycleReadsItsOwnWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	placed := f.place(t, "alice")
	id := placed.State.ID

	steps := []struct {
		name string
		run  func() (application.OrderResult, error)
		want func(v application.OrderView) bool
	}{
		{"add line", func() (application.OrderResult, error) {
			return f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "apple", Quantity: 3, UnitPriceCents: 250})
		}, func(v application.OrderView) bool {
			return v.Version == 2 && v.State.TotalCents == 750 && v.State.UnitCount == 3
		}},
		{"add another line", func() (application.OrderResult, error) {
			return f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "pear", Quantity: 1, UnitPriceCents: 100})
		}, func(v application.OrderView) bool {
			return v.Version == 3 && v.State.TotalCents == 850 && len(v.State.Lines) == 2
		}},
		{"confirm", func() (application.OrderResult, error) {
			return f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id})
		}, func(v application.OrderView) bool { return v.Version == 4 && v.State.Status == order.StatusConfirmed }},
		{"cancel", func() (application.OrderResult, error) {
			return f.app.Orders.CancelOrder(ctx, application.CancelOrder{OrderID: id, Reason: "late"})
		}, func(v application.OrderView) bool { return v.Version == 5 && v.State.Status == order.StatusCancelled }},
	}
	for _, s := range steps {
		res, err := s.run()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !s.want(res.View) {
			t.Fatalf("%s returned %+v", s.name, res.View)
		}
		read := f.get(t, id)
		if res.View.Position <= 0 {
			t.Fatalf("%s: no log position in the result", s.name)
		}
		res.View.Position = 0 // the write side's answer; the read model does not carry it
		if !reflect.DeepEqual(read, res.View) {
			t.Fatalf("%s: read model shows\n%+v\nthe command returned\n%+v", s.name, read, res.View)
		}
	}
	if f.eventCount(t, id) != 5 {
		t.Fatalf("%d events, want 5", f.eventCount(t, id))
	}
}

func TestNoOpCommandAppendsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "bob").State.ID
	f.addLine(t, id, "a", 1, 1)
	first, err := f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id})
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id})
	if err != nil {
		t.Fatal(err)
	}
	if again.View.Version != first.View.Version || f.eventCount(t, id) != 3 {
		t.Fatalf("repeated confirm moved the version from %d to %d (%d events)", first.View.Version, again.View.Version, f.eventCount(t, id))
	}
}

func TestRejectedCommandsWriteNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "carol").State.ID
	_, err := f.app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id})
	if !errors.Is(err, order.ErrNoLines) {
		t.Fatalf("confirming an empty order: %v", err)
	}
	_, err = f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "", Quantity: 0})
	var invalid *order.ValidationError
	if !errors.As(err, &invalid) || len(invalid.Fields) != 2 {
		t.Fatalf("invalid line: %v", err)
	}
	_, err = f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: uuid.New(), SKU: "x", Quantity: 1})
	if !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("line on unknown order: %v", err)
	}
	_, err = f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "carol", Currency: "EUR"})
	if !errors.Is(err, order.ErrAlreadyPlaced) {
		t.Fatalf("placing twice: %v", err)
	}
	if n := f.eventCount(t, id); n != 1 {
		t.Fatalf("%d events after rejected commands, want 1", n)
	}
	if v := f.get(t, id); v.Version != 1 {
		t.Fatalf("read model at version %d", v.Version)
	}
}

func TestExpectedVersionIsCheckedAndNeverRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "dave").State.ID
	f.addLine(t, id, "a", 1, 1) // now at version 2

	_, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "b", Quantity: 1,
		Options: application.OrderOptions{ExpectedVersions: []int64{1}}})
	var conflict *appkit.VersionConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, appkit.ErrVersionConflict) {
		t.Fatalf("stale If-Match: %v", err)
	}
	if conflict.Expected != 1 || conflict.Actual != 2 || conflict.Retried || conflict.ID != id {
		t.Fatalf("conflict %+v", conflict)
	}
	res, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "b", Quantity: 1,
		Options: application.OrderOptions{ExpectedVersions: []int64{2}}})
	if err != nil || res.View.Version != 3 {
		t.Fatalf("matching If-Match: %v, version %d", err, res.View.Version)
	}
}

// Many clients add lines to one order at once. Each command loses races, retries the
// whole cycle and lands exactly once.
func TestConcurrentCommandsOnOneOrderAllLand(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *appkit.RunnerConfig) {
		c.Retry = appkit.RetryPolicy{MaxAttempts: 100, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}
	})
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "erin").State.ID
	const clients = 24
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: sku(i), Quantity: 1, UnitPriceCents: int64(i)}); err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	v := f.get(t, id)
	if v.State.UnitCount != clients || len(v.State.Lines) != clients || v.Version != clients+1 {
		t.Fatalf("after %d concurrent adds: %d units, %d lines, version %d", clients, v.State.UnitCount, len(v.State.Lines), v.Version)
	}
	seen := map[string]bool{}
	for _, l := range v.State.Lines {
		if seen[l.SKU] {
			t.Fatalf("line %s landed twice", l.SKU)
		}
		seen[l.SKU] = true
	}
	folded, err := f.app.Orders.AsOf(ctx, id, v.Version, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(folded, v) {
		t.Fatalf("read model and folded stream disagree:\n%+v\n%+v", v, folded)
	}
}

// With a single attempt, racing commands must report the conflict rather than lose it.
func TestExhaustedRetriesReportTheConflict(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *appkit.RunnerConfig) {
		c.Retry = appkit.RetryPolicy{MaxAttempts: 1}
	})
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "frank").State.ID
	const clients = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	start := make(chan struct{})
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: sku(i), Quantity: 1})
			var conflict *appkit.VersionConflictError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &conflict) && conflict.Retried:
				conflicts++
			default:
				t.Errorf("client %d: %v", i, err)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	v := f.get(t, id)
	if int(v.State.UnitCount) != ok || ok+conflicts != clients || ok == 0 {
		t.Fatalf("%d succeeded, %d conflicted, order holds %d units", ok, conflicts, v.State.UnitCount)
	}
}

func TestMetadataFlowsIntoEveryEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.WithMetadata(appkit.AsSystem(context.Background()), appkit.Metadata{
		CorrelationID: "corr-42", CausationID: "req-7", IssuedBy: "test suite",
	})
	res, err := f.app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: uuid.New(), CustomerID: "gina", Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.pool.Query(ctx, `SELECT correlation_id, causation_id, metadata FROM events WHERE stream_id = $1`, res.View.State.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var corr, cause string
		var meta []byte
		if err := rows.Scan(&corr, &cause, &meta); err != nil {
			t.Fatal(err)
		}
		var md appkit.Metadata
		if err := json.Unmarshal(meta, &md); err != nil {
			t.Fatal(err)
		}
		want := appkit.Metadata{CorrelationID: "corr-42", CausationID: "req-7", IssuedBy: "test suite", Actor: "system", Command: "PlaceOrder"}
		if corr != "corr-42" || cause != "req-7" || md != want {
			t.Fatalf("columns %q %q, metadata %+v", corr, cause, md)
		}
	}
	if n != 1 {
		t.Fatalf("%d events", n)
	}
}

func TestEventsCarryTheCommandTime(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, func(c *appkit.RunnerConfig) { c.Now = fixedClock(start) })
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "hank").State.ID
	f.addLine(t, id, "a", 1, 1)
	v := f.get(t, id)
	if !v.State.PlacedAt.Equal(start.Add(time.Second)) || !v.State.UpdatedAt.Equal(start.Add(2*time.Second)) {
		t.Fatalf("placed %v updated %v", v.State.PlacedAt, v.State.UpdatedAt)
	}
	page, err := f.app.Orders.History(ctx, appkit.HistoryQuery{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	history := page.Items
	if !history[1].RecordedAt.Equal(start.Add(2 * time.Second)) {
		t.Fatalf("recorded_at %v", history[1].RecordedAt)
	}
}

// A retry locks the order before reading it, so a command that lost one race cannot
// lose another: with two attempts, every one of many racing commands lands.
func TestSecondAttemptAlwaysWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *appkit.RunnerConfig) {
		c.Retry = appkit.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	})
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "two-attempts").State.ID
	const clients = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			if _, err := f.app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: sku(i), Quantity: 1}); err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	if v := f.get(t, id); v.State.UnitCount != clients || v.Version != clients+1 {
		t.Fatalf("%d units at version %d after %d racing commands", v.State.UnitCount, v.Version, clients)
	}
}
