package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

func TestDuplicateKey(t *testing.T) {
	for raw, want := range map[string]string{
		`{"a":1,"a":2}`:                       "a",
		`{"a":1,"\u0061":2}`:                  "a",
		`{"a":{"b":[1,{"c":1,"d":2,"c":3}]}}`: "a.b.1.c",
		`[{"x":1},{"y":1,"y":1}]`:             "1.y",
		`{"a":[],"b":{},"c":"a","a":null}`:    "a",
		`{"":1,"":2}`:                         "",
	} {
		if got, ok := duplicateKey([]byte(raw)); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{`{"a":1,"A":2}`, `{"a":{"a":{"a":1}}}`, `[{"a":1},{"a":1}]`, `{"a":"a","b":["a","a"]}`, `"a"`, `{"a":1,"b"`, `{`, ``} {
		if got, ok := duplicateKey([]byte(raw)); ok {
			t.Errorf("%s: duplicate %q reported", raw, got)
		}
	}
}

// TestDuplicateJSONKeysRefused: a body with a key twice answers 400 naming the key,
// whichever number form it uses (an integral 2.0 makes the body be rewritten before
// validation, which must not merge the keys): encoding/json keeps the last value, so
// `"currency":"EUR","currency":"SEK"` was accepted as SEK.
func TestDuplicateJSONKeysRefused(t *testing.T) {
	h, err := New(application.App{}, alwaysReady{}, nil, Config{BodyLimit: 4096, RequestTimeout: time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ target, body, field string }{
		{"/orders", `{"customer_id":"c","currency":"EUR","currency":"SEK"}`, "currency"},
		{"/orders", `{"customer_id":"c","currency":"EUR","\u0063urrency":"SEK"}`, "currency"},
		{"/orders/5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11/lines", `{"sku":"s","quantity":2.0,"quantity":1,"unit_price_cents":1}`, "quantity"},
		{"/orders/5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11/cancel", `{"reason":"a","reason":"b"}`, "reason"},
	} {
		req := httptest.NewRequest(http.MethodPost, c.target, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		r := httptest.NewRecorder()
		h.ServeHTTP(r, req)
		var p struct {
			Code   string
			Errors []api.FieldError
		}
		if r.Code != http.StatusBadRequest || r.Header().Get("Content-Type") != problemContentType || json.Unmarshal(r.Body.Bytes(), &p) != nil ||
			p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != c.field || !strings.Contains(p.Errors[0].Message, "more than once") {
			t.Errorf("POST %s %s: %d %s, want 400 validation_failed naming %q", c.target, c.body, r.Code, r.Body, c.field)
		}
	}
}
