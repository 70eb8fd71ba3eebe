package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

// placeOnly answers placeOrder with a canned 201 and nothing else: the benchmark below
// measures the transport (routing, authentication, validation, decoding, the handler
// chain), not the use case or the database.
type placeOnly struct{ api.StrictServerInterface }

func (placeOnly) PlaceOrder(_ context.Context, r api.PlaceOrderRequestObject) (api.PlaceOrderResponseObject, error) {
	if r.Body == nil || r.Body.Currency != "EUR" {
		return nil, badRequest("the body did not arrive")
	}
	return cannedPlaced{}, nil
}

// cannedPlaced is a 201 with what a placed order's answer carries.
type cannedPlaced struct{}

const cannedOrder = `{"id":"5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11","customer_id":"cust-42","currency":"EUR","status":"pending",` +
	`"lines":[],"total_cents":0,"line_count":0,"unit_count":0,"version":1,"placed_at":"2025-01-15T10:30:00Z","updated_at":"2025-01-15T10:30:00Z"}` + "\n"

func (cannedPlaced) VisitPlaceOrderResponse(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", `"1"`)
	w.Header().Set("Location", "/orders/5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11")
	w.Header().Set(eventPositionHeader, "1")
	w.WriteHeader(http.StatusCreated)
	_, err := w.Write([]byte(cannedOrder))
	return err
}

// BenchmarkPlaceOrderTransport sends POST /orders with a JSON body through the whole
// echo handler chain New builds (request id, security headers, log, recovery, timeout,
// the contract's rules, authentication off, validation), the generated strict handler
// and a handler that answers at once: what one place-order costs the transport.
//
//	go test -run '^$' -bench PlaceOrderTransport -benchmem ./infrastructure/httpapi/
func BenchmarkPlaceOrderTransport(b *testing.B) {
	e, err := New(application.App{}, alwaysReady{}, nil, Config{BodyLimit: 1 << 20, RequestTimeout: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	api.RegisterHandlers(e, api.NewStrictHandler(placeOnly{}, nil)) // the same routes, this handler
	const body = `{"id":"5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11","customer_id":"cust-42","currency":"EUR"}`
	send := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "0b9f4a52-3c1d-4f6e-a8b7-9e2d1c0f3a64")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	if rec := send(); rec.Code != http.StatusCreated {
		b.Fatalf("POST /orders: %d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		send()
	}
}
