package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/example/orders/application"
)

// neverCaughtUp is a customer_summary read model that stays at position 0.
type neverCaughtUp struct{}

func (neverCaughtUp) Position(context.Context) (int64, error) { return 0, nil }
func (neverCaughtUp) CustomerSummary(_ context.Context, id string) (application.CustomerSummary, int64, error) {
	return application.CustomerSummary{CustomerID: id}, 0, nil
}

// TestWaitLongerThanTheRequestTimeout: a wait the request timeout cuts short answers
// 503 read_model_behind within the timeout, not 503 unavailable as if the database
// were down.
func TestWaitLongerThanTheRequestTimeout(t *testing.T) {
	app := application.App{CustomerSummary: application.NewGetCustomerSummaryHandler(neverCaughtUp{})}
	h, err := New(app, alwaysReady{}, nil, Config{BodyLimit: 4096, RequestTimeout: 300 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := serve(h, http.MethodGet, "/customers/c/summary?min_position=5&wait=2s")
	var p struct{ Code string }
	if err := json.Unmarshal(r.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if r.Code != http.StatusServiceUnavailable || p.Code != "read_model_behind" || r.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %s (Retry-After %q), want 503 read_model_behind", r.Code, r.Body, r.Header().Get("Retry-After"))
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("answered after %v, as if it had waited the 2s asked for", elapsed)
	}
}
