package e2e

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/uuid"
)

// TestCustomerSummaryReadYourWrites: every command answers X-Event-Position (also
// when replayed for an Idempotency-Key); a read of the asynchronous customer_summary
// with min_position set to it reflects the command, and one for a position the log
// has not reached answers 503 read_model_behind with Retry-After.
func TestCustomerSummaryReadYourWrites(t *testing.T) {
	t.Parallel()
	base := startServer(t, map[string]string{"RUN_CONSUMERS": "true"})
	customer := "cust-" + uuid.NewString()[:8]
	position := func(r *response) string {
		t.Helper()
		p := r.Header.Get("X-Event-Position")
		if n, err := strconv.ParseInt(p, 10, 64); err != nil || n <= 0 {
			t.Fatalf("X-Event-Position %q on %s", p, r)
		}
		return p
	}
	var last string
	for i, currency := range []string{"EUR", "EUR", "USD"} {
		placed := do(t, http.MethodPost, base+"/orders", `{"customer_id":"`+customer+`","currency":"`+currency+`"}`, "Idempotency-Key", "k-"+customer+strconv.Itoa(i))
		if placed.Status != http.StatusCreated {
			t.Fatalf("place: %s", placed)
		}
		replay := do(t, http.MethodPost, base+"/orders", `{"customer_id":"`+customer+`","currency":"`+currency+`"}`, "Idempotency-Key", "k-"+customer+strconv.Itoa(i))
		if replay.Header.Get("X-Event-Position") != placed.Header.Get("X-Event-Position") {
			t.Fatalf("replayed X-Event-Position %q, first %q", replay.Header.Get("X-Event-Position"), placed.Header.Get("X-Event-Position"))
		}
		id := placed.Header.Get("Location")
		last = position(do(t, http.MethodPost, base+id+"/lines", `{"sku":"a","quantity":2,"unit_price_cents":500}`))
		if i < 2 {
			last = position(do(t, http.MethodPost, base+id+"/confirm", ""))
		}
		if i == 1 {
			last = position(do(t, http.MethodPost, base+id+"/cancel", `{"reason":"changed my mind"}`))
		}
	}
	r := do(t, http.MethodGet, base+"/customers/"+customer+"/summary?min_position="+last+"&wait=10s", "")
	if r.Status != http.StatusOK {
		t.Fatalf("summary: %s", r)
	}
	if got, _ := strconv.ParseInt(r.Header.Get("X-Read-Model-Position"), 10, 64); got < mustInt(t, last) {
		t.Fatalf("X-Read-Model-Position %d below min_position %s", got, last)
	}
	var sum struct {
		Placed    int64            `json:"orders_placed"`
		Confirmed int64            `json:"orders_confirmed"`
		Cancelled int64            `json:"orders_cancelled"`
		Totals    map[string]int64 `json:"confirmed_totals"`
	}
	if err := json.Unmarshal(r.Body, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Placed != 3 || sum.Confirmed != 1 || sum.Cancelled != 1 || len(sum.Totals) != 1 || sum.Totals["EUR"] != 1000 {
		t.Fatalf("summary %s, want 3 placed, 1 confirmed, 1 cancelled, EUR 1000", r.Body)
	}

	behind := do(t, http.MethodGet, base+"/customers/"+customer+"/summary?min_position=999999999&wait=200ms", "")
	if behind.Status != http.StatusServiceUnavailable || behind.Header.Get("Retry-After") == "" {
		t.Fatalf("summary ahead of the log: %s (Retry-After %q)", behind, behind.Header.Get("Retry-After"))
	}
	var p struct{ Code string }
	if err := json.Unmarshal(behind.Body, &p); err != nil || p.Code != "read_model_behind" {
		t.Fatalf("problem %s, want code read_model_behind", behind.Body)
	}
	if bad := do(t, http.MethodGet, base+"/customers/"+customer+"/summary?min_position=1&wait=11s", "", invalid...); bad.Status != http.StatusBadRequest {
		t.Fatalf("wait above 10s: %s", bad)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
