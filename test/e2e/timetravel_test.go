package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/example/orders/api"
)

// TestTimeTravel reads past versions of an order by version and by time.
func TestTimeTravel(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	ctx := context.Background()
	o := placeOrder(t, c, uniqueCustomer("travel"))
	addLine(t, c, o.Id, "SKU-A", 1, 1000)
	current := addLine(t, c, o.Id, "SKU-B", 2, 500)
	evs := events(t, c, o.Id)
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	u := base + "/orders/" + o.Id.String()

	// By version.
	for v := int64(1); v <= 3; v++ {
		r := do(t, http.MethodGet, u+"?version="+strconv.FormatInt(v, 10), "")
		if r.Status != http.StatusOK {
			t.Fatalf("version=%d: %s", v, r)
		}
		got := decode[api.Order](t, "version", r.Body)
		if got.Version != v || len(got.Lines) != int(v-1) || r.Header.Get("ETag") != `"`+strconv.FormatInt(v, 10)+`"` {
			t.Errorf("version=%d: ETag %q body %s", v, r.Header.Get("ETag"), r.Body)
		}
		if !got.UpdatedAt.Equal(evs[v-1].RecordedAt) || !got.PlacedAt.Equal(o.PlacedAt) {
			t.Errorf("version=%d: updated_at %v (event recorded_at %v), placed_at %v (want %v)", v, got.UpdatedAt, evs[v-1].RecordedAt, got.PlacedAt, o.PlacedAt)
		}
	}
	v2 := decode[api.Order](t, "v2", do(t, http.MethodGet, u+"?version=2", "").Body)
	if v2.TotalCents != 1000 || v2.LineCount != 1 || v2.Lines[0].Sku != "SKU-A" || v2.Status != api.OrderStatusPending {
		t.Errorf("version 2: %+v", v2)
	}
	// The newest version equals the current order.
	v3 := decode[api.Order](t, "v3", do(t, http.MethodGet, u+"?version=3", "").Body)
	if v3.TotalCents != current.TotalCents || v3.LineCount != current.LineCount || v3.UnitCount != current.UnitCount || !v3.UpdatedAt.Equal(current.UpdatedAt) {
		t.Errorf("version 3 %+v differs from the current order %+v", v3, current)
	}

	// By time: exactly when event 2 was recorded, and between events 2 and 3.
	at := func(ts time.Time) *response {
		return do(t, http.MethodGet, u+"?at="+url.QueryEscape(ts.Format(time.RFC3339Nano)), "")
	}
	for name, ts := range map[string]time.Time{
		"at event 2":              evs[1].RecordedAt,
		"just before event 3":     evs[2].RecordedAt.Add(-time.Microsecond),
		"event 2 in another zone": evs[1].RecordedAt.In(time.FixedZone("", 5*3600+30*60)),
	} {
		r := at(ts)
		if r.Status != http.StatusOK {
			t.Errorf("%s: %s", name, r)
			continue
		}
		if got := decode[api.Order](t, name, r.Body); got.Version != 2 || r.Header.Get("ETag") != `"2"` {
			t.Errorf("%s (%s): version %d ETag %q, want 2", name, ts.Format(time.RFC3339Nano), got.Version, r.Header.Get("ETag"))
		}
	}
	if r := at(evs[0].RecordedAt); r.Status != http.StatusOK || decode[api.Order](t, "at placed", r.Body).Version != 1 {
		t.Errorf("at placed_at: %s", r)
	}
	if r := at(time.Now().Add(time.Hour)); r.Status != http.StatusOK || decode[api.Order](t, "at future", r.Body).Version != 3 {
		t.Errorf("at the future: %s", r)
	}

	// Through the generated client.
	ts := evs[1].RecordedAt
	g, err := c.GetOrderWithResponse(ctx, o.Id, &api.GetOrderParams{At: &ts})
	if err != nil {
		t.Fatal(err)
	}
	if g.StatusCode() != http.StatusOK || g.JSON200 == nil || g.JSON200.Version != 2 {
		t.Errorf("client at: %d %s", g.StatusCode(), g.Body)
	}

	// Before the order existed, and beyond its versions: 404.
	checkProblem(t, "at before placed", at(o.PlacedAt.Add(-time.Microsecond)), http.StatusNotFound, "order_not_found")
	checkProblem(t, "at long before", at(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)), http.StatusNotFound, "order_not_found")
	checkProblem(t, "version 4", do(t, http.MethodGet, u+"?version=4", ""), http.StatusNotFound, "order_not_found")
}

// TestTimeTravelToYearOne: "0001-01-01T00:00:00Z" is a valid date-time before the
// order was placed, so the contract's answer is 404, like any other `at` before it.
func TestTimeTravelToYearOne(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	o := placeOrder(t, c, uniqueCustomer("year-one"))
	r := do(t, http.MethodGet, base+"/orders/"+o.Id.String()+"?at=0001-01-01T00:00:00Z", "")
	checkProblem(t, "at=0001-01-01T00:00:00Z", r, http.StatusNotFound, "order_not_found")
}
