package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/api"
)

// TestPagination places 25 orders for one customer (concurrently, so placed_at ties
// are possible and the id tie-break matters) and pages through them.
func TestPagination(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	ctx := context.Background()
	customer := uniqueCustomer("pages")
	placeOrder(t, c, uniqueCustomer("other")) // another customer's order is never listed

	const total = 25
	placed := make([]api.Order, total)
	var wg sync.WaitGroup
	for w := range 5 {
		wg.Go(func() {
			for i := w; i < total; i += 5 {
				r, err := tryDo(http.MethodPost, base+"/orders", `{"customer_id":"`+customer+`","currency":"EUR"}`)
				if err != nil || r.Status != http.StatusCreated {
					t.Errorf("place %d: %v %v", i, err, r)
					return
				}
				if err := json.Unmarshal(r.Body, &placed[i]); err != nil {
					t.Errorf("place %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Newest first: placed_at descending, ties by id descending.
	want := slices.Clone(placed)
	slices.SortFunc(want, func(a, b api.Order) int {
		if c := b.PlacedAt.Compare(a.PlacedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Id.String(), a.Id.String())
	})

	limit := 10
	var got []api.Order
	var sizes []int
	var cursor *string
	for page := 1; ; page++ {
		if page > 5 {
			t.Fatalf("more pages than expected")
		}
		r, err := c.ListOrdersWithResponse(ctx, &api.ListOrdersParams{CustomerId: &customer, Limit: &limit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
			t.Fatalf("page %d: %d %s", page, r.StatusCode(), r.Body)
		}
		got = append(got, r.JSON200.Items...)
		sizes = append(sizes, len(r.JSON200.Items))
		cursor = r.JSON200.NextCursor
		if cursor == nil {
			if strings.Contains(string(r.Body), "next_cursor") {
				t.Errorf("last page has a next_cursor member: %s", r.Body)
			}
			break
		}
		if *cursor == "" {
			t.Fatalf("page %d: empty next_cursor", page)
		}
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Errorf("page sizes %v, want [10 10 5]", sizes)
	}
	seen := map[uuid.UUID]bool{}
	for i, o := range got {
		if seen[o.Id] {
			t.Errorf("order %s listed twice", o.Id)
		}
		seen[o.Id] = true
		if o.CustomerId != customer {
			t.Errorf("order of customer %q listed", o.CustomerId)
		}
		if i < len(want) && o.Id != want[i].Id {
			t.Errorf("position %d: %s (placed %v), want %s (placed %v)", i, o.Id, o.PlacedAt, want[i].Id, want[i].PlacedAt)
		}
	}
	if len(got) != total {
		t.Fatalf("%d orders listed, want %d", len(got), total)
	}

	// A page of exactly the remaining orders has no next page; the default limit
	// (20) gives 20 and a cursor.
	limit = 25
	r, err := c.ListOrdersWithResponse(ctx, &api.ListOrdersParams{CustomerId: &customer, Limit: &limit})
	if err != nil || r.JSON200 == nil || len(r.JSON200.Items) != 25 || r.JSON200.NextCursor != nil {
		t.Errorf("limit=25: %v %s", err, r.Body)
	}
	r, err = c.ListOrdersWithResponse(ctx, &api.ListOrdersParams{CustomerId: &customer})
	if err != nil || r.JSON200 == nil || len(r.JSON200.Items) != 20 || r.JSON200.NextCursor == nil {
		t.Errorf("default limit: %v %s", err, r.Body)
	}

	// Filter by status: confirm three, cancel two.
	for _, o := range want[:3] {
		addLine(t, c, o.Id, "SKU", 1, 1)
		confirmOrder(t, c, o.Id)
	}
	for _, o := range want[3:5] {
		cancelOrder(t, c, o.Id, "")
	}
	for status, ids := range map[api.OrderStatus][]api.Order{
		api.OrderStatusConfirmed: want[:3],
		api.OrderStatusCancelled: want[3:5],
		api.OrderStatusPending:   want[5:],
	} {
		limit := 100
		r, err := c.ListOrdersWithResponse(ctx, &api.ListOrdersParams{CustomerId: &customer, Status: &status, Limit: &limit})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("status=%s: %v %s", status, err, r.Body)
		}
		if len(r.JSON200.Items) != len(ids) {
			t.Errorf("status=%s: %d orders, want %d", status, len(r.JSON200.Items), len(ids))
			continue
		}
		for i, o := range r.JSON200.Items {
			if o.Id != ids[i].Id || o.Status != status {
				t.Errorf("status=%s position %d: %s %s, want %s", status, i, o.Id, o.Status, ids[i].Id)
			}
		}
	}

	// Paging with a status filter too.
	status, limit := api.OrderStatusPending, 15
	first, err := c.ListOrdersWithResponse(ctx, &api.ListOrdersParams{CustomerId: &customer, Status: &status, Limit: &limit})
	if err != nil || first.JSON200 == nil || len(first.JSON200.Items) != 15 || first.JSON200.NextCursor == nil {
		t.Fatalf("pending page 1: %v %s", err, first.Body)
	}
	second, err := c.ListOrdersWithResponse(ctx, &api.ListOrdersParams{CustomerId: &customer, Status: &status, Limit: &limit, Cursor: first.JSON200.NextCursor})
	if err != nil || second.JSON200 == nil || len(second.JSON200.Items) != 5 || second.JSON200.NextCursor != nil {
		t.Fatalf("pending page 2: %v %s", err, second.Body)
	}
	if second.JSON200.Items[0].Id != want[20].Id {
		t.Errorf("pending page 2 starts at %s, want %s", second.JSON200.Items[0].Id, want[20].Id)
	}
}
