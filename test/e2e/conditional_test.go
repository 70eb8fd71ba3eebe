package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/example/orders/api"
)

// TestIfMatch runs commands against a named version: the right ETag moves the order on
// by one, a stale one answers 412 with the current version and records nothing.
func TestIfMatch(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	ctx := context.Background()
	o := placeOrder(t, c, uniqueCustomer("ifmatch"))
	lines := "/orders/" + o.Id.String() + "/lines"
	line := `{"sku":"SKU-1","quantity":2,"unit_price_cents":300}`

	// The ETag of the last response, sent back, works: version 1 -> 2.
	r := do(t, http.MethodPost, base+lines, line, "If-Match", `"1"`)
	if r.Status != http.StatusOK || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("If-Match current: %s (ETag %q)", r, r.Header.Get("ETag"))
	}
	if v := decode[api.Order](t, "line", r.Body).Version; v != 2 {
		t.Errorf("version %d after If-Match \"1\", want 2", v)
	}

	// The same ETag again is stale now: 412, nothing recorded.
	before := len(events(t, c, o.Id))
	r = do(t, http.MethodPost, base+lines, line, "If-Match", `"1"`)
	p := checkProblem(t, "stale If-Match", r, http.StatusPreconditionFailed, "version_mismatch")
	if p.CurrentVersion == nil || *p.CurrentVersion != 2 || r.Header.Get("ETag") != `"2"` {
		t.Errorf("412: current_version %v, ETag %q; want 2 and \"2\"", deref(p.CurrentVersion), r.Header.Get("ETag"))
	}
	if after := len(events(t, c, o.Id)); after != before {
		t.Errorf("a 412 recorded events: %d -> %d", before, after)
	}
	// A version ahead of the order is just as stale.
	r = do(t, http.MethodPost, base+lines, line, "If-Match", `"7"`)
	checkProblem(t, "future If-Match", r, http.StatusPreconditionFailed, "version_mismatch")

	// Through the generated client, on confirm and cancel as well.
	stale, current := `"1"`, `"2"`
	conf, err := c.ConfirmOrderWithResponse(ctx, o.Id, &api.ConfirmOrderParams{IfMatch: &stale})
	if err != nil {
		t.Fatal(err)
	}
	if conf.StatusCode() != http.StatusPreconditionFailed || conf.ApplicationproblemJSON412 == nil ||
		deref(conf.ApplicationproblemJSON412.CurrentVersion) != int64(2) {
		t.Errorf("confirm with stale If-Match: %d %s", conf.StatusCode(), conf.Body)
	}
	conf, err = c.ConfirmOrderWithResponse(ctx, o.Id, &api.ConfirmOrderParams{IfMatch: &current})
	if err != nil {
		t.Fatal(err)
	}
	if conf.StatusCode() != http.StatusOK || conf.JSON200 == nil || conf.JSON200.Version != 3 || conf.JSON200.Status != api.OrderStatusConfirmed {
		t.Fatalf("confirm with current If-Match: %d %s", conf.StatusCode(), conf.Body)
	}
	canc, err := c.CancelOrderWithResponse(ctx, o.Id, &api.CancelOrderParams{IfMatch: &current}, api.CancelRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if canc.StatusCode() != http.StatusPreconditionFailed || canc.HTTPResponse.Header.Get("ETag") != `"3"` {
		t.Errorf("cancel with stale If-Match: %d %s (ETag %q)", canc.StatusCode(), canc.Body, canc.HTTPResponse.Header.Get("ETag"))
	}

	// "*" names no version: the command runs against whatever is current.
	r = do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/cancel", "", "If-Match", "*")
	if r.Status != http.StatusOK || r.Header.Get("ETag") != `"4"` {
		t.Errorf("If-Match *: %s (ETag %q)", r, r.Header.Get("ETag"))
	}
	if n := len(events(t, c, o.Id)); n != 4 {
		t.Errorf("%d events, want 4", n)
	}
}

// TestIfNoneMatch: conditional GETs answer 304 with the ETag and no body when the
// order is unchanged, 200 otherwise.
func TestIfNoneMatch(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	o := placeOrder(t, c, uniqueCustomer("ifnonematch"))
	addLine(t, c, o.Id, "SKU-1", 1, 100)
	addLine(t, c, o.Id, "SKU-2", 1, 100) // version 3
	u := base + "/orders/" + o.Id.String()

	for _, tc := range []struct {
		header string
		status int
	}{
		{`"3"`, http.StatusNotModified},
		{`W/"3"`, http.StatusNotModified},
		{`*`, http.StatusNotModified},
		{`"1", "3"`, http.StatusNotModified},
		{`"2"`, http.StatusOK},
		{`"1", W/"2"`, http.StatusOK},
		{`"30"`, http.StatusOK},
	} {
		r := do(t, http.MethodGet, u, "", "If-None-Match", tc.header)
		if r.Status != tc.status {
			t.Errorf("If-None-Match %s: status %d, want %d", tc.header, r.Status, tc.status)
		}
		if et := r.Header.Get("ETag"); et != `"3"` {
			t.Errorf("If-None-Match %s: ETag %q, want \"3\"", tc.header, et)
		}
		switch tc.status {
		case http.StatusNotModified:
			if len(r.Body) != 0 {
				t.Errorf("If-None-Match %s: 304 with a body: %q", tc.header, r.Body)
			}
		case http.StatusOK:
			if v := decode[api.Order](t, "get", r.Body).Version; v != 3 {
				t.Errorf("If-None-Match %s: version %d", tc.header, v)
			}
		}
	}

	// Through the generated client.
	tag := `"3"`
	g, err := c.GetOrderWithResponse(context.Background(), o.Id, &api.GetOrderParams{IfNoneMatch: &tag})
	if err != nil {
		t.Fatal(err)
	}
	if g.StatusCode() != http.StatusNotModified || len(g.Body) != 0 {
		t.Errorf("client: %d %q", g.StatusCode(), g.Body)
	}

	// After a change the old tag no longer matches.
	addLine(t, c, o.Id, "SKU-3", 1, 100)
	r := do(t, http.MethodGet, u, "", "If-None-Match", `"3"`)
	if r.Status != http.StatusOK || r.Header.Get("ETag") != `"4"` {
		t.Errorf("old tag after a change: %d (ETag %q)", r.Status, r.Header.Get("ETag"))
	}

	// An unknown order is 404 whatever If-None-Match says.
	r = do(t, http.MethodGet, base+"/orders/"+"0190b6a4-7f3e-7c1a-9d2b-3c4d5e6f7a8b", "", "If-None-Match", "*")
	checkProblem(t, "If-None-Match * on unknown order", r, http.StatusNotFound, "order_not_found")
}
