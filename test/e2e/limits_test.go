package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// historyPage is a page of GET /{aggregate}/{id}/events, read without the generated
// types.
type historyPage struct {
	Items []struct {
		Version int64 `json:"version"`
	} `json:"items"`
	NextAfter *int64 `json:"next_after"`
}

func readHistory(t *testing.T, url string, headers ...string) historyPage {
	t.Helper()
	r := do(t, http.MethodGet, url, "", headers...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %s", url, r)
	}
	var p historyPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return p
}

func (p historyPage) versions() []int64 {
	vs := []int64{}
	for _, e := range p.Items {
		vs = append(vs, e.Version)
	}
	return vs
}

func (p historyPage) next() string {
	if p.NextAfter == nil {
		return "none"
	}
	return strconv.FormatInt(*p.NextAfter, 10)
}

// An order's history comes a page at a time: at most limit events
// after `after` (100 by default, at most 1000), with next_after while more follow.
func TestHistoryIsPaged(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	o := placeOrder(t, c, uniqueCustomer("pages"))
	for i := range 120 {
		addLine(t, c, o.Id, fmt.Sprintf("SKU-%d", i), 1, 100) // versions 2..121
	}
	orderURL := base + "/orders/" + o.Id.String() + "/events"
	for _, tc := range []struct {
		query      string
		first, end int64 // versions first..end, or none when end < first
		next       string
	}{
		{"", 1, 100, "100"},
		{"?after=100", 101, 121, "none"},
		{"?limit=2", 1, 2, "2"},
		{"?after=2&limit=2", 3, 4, "4"},
		{"?after=119&limit=2", 120, 121, "none"},
		{"?after=120&limit=5", 121, 121, "none"},
		{"?after=121", 1, 0, "none"},
		{"?limit=1000", 1, 121, "none"},
	} {
		p := readHistory(t, orderURL+tc.query)
		want := []int64{}
		for v := tc.first; v <= tc.end; v++ {
			want = append(want, v)
		}
		if got := p.versions(); fmt.Sprint(got) != fmt.Sprint(want) || p.next() != tc.next {
			t.Errorf("%s: versions %v next_after %s, want %v next_after %s", tc.query, got, p.next(), want, tc.next)
		}
	}
	for _, q := range []string{"?limit=1001", "?limit=0", "?after=-1"} {
		checkProblem(t, q, do(t, http.MethodGet, orderURL+q, "", invalid...), http.StatusBadRequest, "validation_failed")
	}
	// Another customer gets 404 for every page, also one without the first event.
	if r := do(t, http.MethodGet, orderURL+"?after=50&limit=1", "", as(uniqueCustomer("other"), "")...); r.Status != http.StatusNotFound {
		t.Errorf("another customer's later page: %s", r)
	}

}

// An order holds at most 1000 lines: the next one is 409 order_too_many_lines, and
// nothing is recorded.
func TestOrderLinesAreCapped(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	o := placeOrder(t, c, uniqueCustomer("full"))
	lines := base + "/orders/" + o.Id.String() + "/lines"
	for i := range 1000 {
		if r := do(t, http.MethodPost, lines, fmt.Sprintf(`{"sku":"S-%d","quantity":1,"unit_price_cents":1}`, i)); r.Status != http.StatusOK {
			t.Fatalf("line %d: %s", i+1, r)
		}
	}
	r := do(t, http.MethodPost, lines, `{"sku":"ONE-MORE","quantity":1,"unit_price_cents":1}`)
	checkProblem(t, "line 1001", r, http.StatusConflict, "order_too_many_lines")
	got := getOrder(t, base, o.Id)
	var order struct {
		Version   int64 `json:"version"`
		LineCount int   `json:"line_count"`
	}
	if err := json.Unmarshal(got.Body, &order); err != nil || order.Version != 1001 || order.LineCount != 1000 {
		t.Errorf("after the refused line: %s (%v)", got, err)
	}
}

// One caller holds at most SSE_MAX_STREAMS_PER_CALLER streams (429
// too_many_caller_streams with Retry-After); other callers still get theirs, and a
// closed stream frees its caller's place.
func TestEventStreamsAreCappedPerCaller(t *testing.T) {
	t.Parallel()
	base := startServer(t, map[string]string{"SSE_MAX_STREAMS": "10", "SSE_MAX_STREAMS_PER_CALLER": "2"})
	a := openStream(t, streamClient, base+"/events/stream", 0)
	openStream(t, streamClient, base+"/events/stream", 0)
	r := do(t, http.MethodGet, base+"/events/stream", "")
	checkProblem(t, "the caller's third stream", r, http.StatusTooManyRequests, "too_many_caller_streams")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	other := as("feed-reader-2", "events:read")[1]
	req, _ := http.NewRequest(http.MethodGet, base+"/events/stream", nil)
	req.Header.Set("Authorization", other)
	resp, err := streamClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("another caller's stream: %d", resp.StatusCode)
	}
	_ = a.resp.Body.Close()
	waitStreamPlace(t, base, "a closed stream's place was not given back to its caller")
}
