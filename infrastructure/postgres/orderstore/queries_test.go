package orderstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/test/testsupport"
)

func TestListOrdersPagesNewestFirstWithFilters(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	f := newFixture(t, func(c *appkit.RunnerConfig) { c.Now = fixedClock(start) })
	ctx := appkit.AsSystem(context.Background())
	var all []uuid.UUID // oldest first
	for i := 0; i < 25; i++ {
		customer := "even"
		if i%2 == 1 {
			customer = "odd"
		}
		id := f.place(t, customer).State.ID
		all = append(all, id)
		if i%5 == 0 {
			if _, err := f.app.Orders.CancelOrder(ctx, application.CancelOrder{OrderID: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	pages := func(q application.ListOrders) [][]uuid.UUID {
		var out [][]uuid.UUID
		for {
			page, err := f.app.Orders.ListOrders(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []uuid.UUID
			for _, v := range page.Items {
				ids = append(ids, v.State.ID)
				if q.Status != "" && v.State.Status != q.Status || q.CustomerID != "" && v.State.CustomerID != q.CustomerID {
					t.Fatalf("filter %+v let through %+v", q, v)
				}
			}
			out = append(out, ids)
			if page.NextCursor == "" {
				return out
			}
			q.Cursor = page.NextCursor
		}
	}
	got := pages(application.ListOrders{Limit: 10})
	if len(got) != 3 || len(got[0]) != 10 || len(got[2]) != 5 {
		t.Fatalf("page sizes %d/%v", len(got), got)
	}
	var flat []uuid.UUID
	for _, p := range got {
		flat = append(flat, p...)
	}
	for i, id := range flat {
		if id != all[len(all)-1-i] {
			t.Fatalf("position %d holds %s, want %s (newest first)", i, id, all[len(all)-1-i])
		}
	}
	if n := len(pages(application.ListOrders{Status: order.StatusCancelled, Limit: 2})); n != 3 {
		t.Fatalf("5 cancelled orders in pages of 2 gave %d pages", n)
	}
	if n := len(pages(application.ListOrders{Status: order.StatusCancelled, Limit: 5})); n != 1 {
		t.Fatalf("5 cancelled orders in pages of 5 gave %d pages, want 1 with no next cursor", n)
	}
	count := 0
	for _, p := range pages(application.ListOrders{CustomerID: "odd", Status: order.StatusPending, Limit: 4}) {
		count += len(p)
	}
	if count != 10 { // 12 odd orders, of which i = 5 and 15 are cancelled
		t.Fatalf("%d pending orders of customer odd, want 10", count)
	}
}

// Orders placed while a client pages do not shift or repeat what it reads next.
func TestListOrdersIsStableUnderConcurrentInserts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	for i := 0; i < 12; i++ {
		f.place(t, "paging")
	}
	first, err := f.app.Orders.ListOrders(ctx, application.ListOrders{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		f.place(t, "paging")
	}
	seen := map[uuid.UUID]bool{}
	for _, v := range first.Items {
		seen[v.State.ID] = true
	}
	cursor := first.NextCursor
	for cursor != "" {
		page, err := f.app.Orders.ListOrders(ctx, application.ListOrders{Limit: 5, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Items {
			if seen[v.State.ID] {
				t.Fatalf("order %s came twice", v.State.ID)
			}
			seen[v.State.ID] = true
		}
		cursor = page.NextCursor
	}
	if len(seen) != 12 {
		t.Fatalf("paging from the first page saw %d orders, want the 12 that existed", len(seen))
	}
}

func TestListOrdersRejectsBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, q := range []application.ListOrders{
		{Limit: 101}, {Limit: -1}, {Status: "shipped"}, {Cursor: "not-a-cursor"}, {Cursor: "MTIz"},
	} {
		_, err := f.app.Orders.ListOrders(appkit.AsSystem(context.Background()), q)
		var invalid *order.ValidationError
		if !errors.As(err, &invalid) {
			t.Errorf("%+v: want a validation error, got %v", q, err)
		}
	}
}

func TestOrderAsOfFoldsTheEvents(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	f := newFixture(t, func(c *appkit.RunnerConfig) { c.Now = fixedClock(start) })
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "ivy").State.ID // v1 at +1s
	f.addLine(t, id, "a", 2, 100)    // v2 at +2s
	f.addLine(t, id, "b", 1, 50)     // v3 at +3s
	type asOfQuery struct {
		Version int64
		At      *time.Time
	}
	asOf := func(q asOfQuery) (application.OrderView, error) { return f.app.Orders.AsOf(ctx, id, q.Version, q.At) }
	v2, err := asOf(asOfQuery{Version: 2})
	if err != nil || v2.Version != 2 || v2.State.TotalCents != 200 || len(v2.State.Lines) != 1 {
		t.Fatalf("version 2: %+v %v", v2, err)
	}
	at, err := asOf(asOfQuery{At: ptr(start.Add(2500 * time.Millisecond))})
	if err != nil || !reflect.DeepEqual(at, v2) {
		t.Fatalf("at +2.5s: %+v %v, want version 2", at, err)
	}
	latest, err := asOf(asOfQuery{Version: 3})
	if err != nil || !reflect.DeepEqual(latest, f.get(t, id)) {
		t.Fatalf("version 3 %+v differs from the read model", latest)
	}
	for _, q := range []asOfQuery{{Version: 4}, {At: &start}, {At: &time.Time{}}} {
		if _, err := asOf(q); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("%+v: want not found, got %v", q, err)
		}
	}
	for _, q := range []asOfQuery{{Version: 1, At: &start}, {Version: -1}, {}} {
		var invalid *order.ValidationError
		if _, err := asOf(q); !errors.As(err, &invalid) {
			t.Errorf("%+v: want a validation error, got %v", q, err)
		}
	}
}

func TestOrderHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "jack").State.ID
	f.addLine(t, id, "a", 1, 1)
	page, err := f.app.Orders.History(ctx, appkit.HistoryQuery{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	history := page.Items
	if page.NextAfter != 0 || len(history) != 2 || history[0].Type != "OrderPlaced" || history[0].SchemaVersion != currentVersion(t, "OrderPlaced") || history[1].Type != "OrderLineAdded" ||
		history[0].Version != 1 || history[1].Version != 2 || history[1].Position <= history[0].Position {
		t.Fatalf("history %+v", history)
	}
	if _, ok := history[1].Event.(order.OrderLineAdded); !ok {
		t.Fatalf("decoded %T", history[1].Event)
	}
	if _, err := f.app.Orders.History(ctx, appkit.HistoryQuery{ID: uuid.New()}); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
	if _, err := f.app.Orders.Get(ctx, uuid.New()); !errors.Is(err, order.ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
}

// The history comes a page at a time: at most limit events after `after`, with
// NextAfter while more follow; the owner is checked on every page, also the ones that
// do not hold the first event.
func TestOrderHistoryPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	id := f.place(t, "kate").State.ID
	for i := range 6 {
		f.addLine(t, id, fmt.Sprintf("sku-%d", i), 1, 1) // versions 2..7
	}
	versions := func(p appkit.HistoryPage[order.Event]) []int64 {
		var vs []int64
		for _, e := range p.Items {
			vs = append(vs, e.Version)
		}
		return vs
	}
	for _, tc := range []struct {
		after    int64
		limit    int
		want     []int64
		wantNext int64
	}{
		{0, 3, []int64{1, 2, 3}, 3},
		{3, 3, []int64{4, 5, 6}, 6},
		{6, 3, []int64{7}, 0},
		{4, 3, []int64{5, 6, 7}, 0}, // exactly the rest: no next page
		{7, 3, nil, 0},
		{100, 3, nil, 0},
		{0, 0, []int64{1, 2, 3, 4, 5, 6, 7}, 0}, // the default page
		{0, appkit.MaxHistoryPage, []int64{1, 2, 3, 4, 5, 6, 7}, 0},
	} {
		page, err := f.app.Orders.History(ctx, appkit.HistoryQuery{ID: id, After: tc.after, Limit: tc.limit})
		if err != nil {
			t.Fatalf("after %d limit %d: %v", tc.after, tc.limit, err)
		}
		if got := versions(page); !slices.Equal(got, tc.want) || page.NextAfter != tc.wantNext {
			t.Errorf("after %d limit %d: versions %v next %d, want %v next %d", tc.after, tc.limit, got, page.NextAfter, tc.want, tc.wantNext)
		}
	}

	owner := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: "kate"})
	other := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: "liam"})
	if page, err := f.app.Orders.History(owner, appkit.HistoryQuery{ID: id, After: 5, Limit: 1}); err != nil || len(page.Items) != 1 || page.NextAfter != 6 {
		t.Errorf("the owner's later page: %+v %v", page, err)
	}
	for _, after := range []int64{0, 1, 5, 7} {
		if _, err := f.app.Orders.History(other, appkit.HistoryQuery{ID: id, After: after, Limit: 1}); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("another customer's page after %d: %v, want order_not_found", after, err)
		}
	}
	if _, err := f.app.Orders.History(ctx, appkit.HistoryQuery{ID: uuid.New(), After: 3}); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("a later page of an unknown order: %v, want order_not_found", err)
	}
	for _, q := range []appkit.HistoryQuery{{ID: id, Limit: appkit.MaxHistoryPage + 1}, {ID: id, Limit: -1}, {ID: id, After: -1}} {
		var ve *order.ValidationError
		if _, err := f.app.Orders.History(ctx, q); !errors.As(err, &ve) {
			t.Errorf("%+v: want a validation error, got %v", q, err)
		}
	}
}

// currentVersion is the schema version the codec writes name at: tests ask the
// registry rather than pin the number.
func currentVersion(t testing.TB, name string) int {
	t.Helper()
	v, ok := eventcodec.NewOrderRegistry().Version(name)
	if !ok {
		t.Fatalf("the order codec does not know %s", name)
	}
	return v
}

// A customer reads its own orders; another customer's answers order_not_found.
func TestOrderOwnedReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	kates, liams := f.place(t, "kate").State.ID, f.place(t, "liam").State.ID
	testsupport.CheckOwnedReads(t, f.app.Orders.Owned, order.ErrNotFound, "kate", kates, liams)
}
