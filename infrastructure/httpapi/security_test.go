package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
)

type stubAuth struct{}

func (stubAuth) Verify(context.Context, string) (appkit.Principal, error) {
	return appkit.Principal{}, errors.New("signature is invalid")
}

type alwaysReady struct{}

func (alwaysReady) Ready(context.Context) error { return nil }

func newSecured(t *testing.T, origins []string) (http.Handler, *bytes.Buffer) {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := New(application.App{}, alwaysReady{}, nil, Config{BodyLimit: 4096, RequestTimeout: time.Second, Auth: stubAuth{}, CORSAllowedOrigins: origins}, log)
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

func serve(h http.Handler, method, target string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestCORS: no CORS headers without an allow-list; with one, allowed origins get
// them (preflight included) and others do not; credentials are never allowed.
func TestCORS(t *testing.T) {
	off, _ := newSecured(t, nil)
	if r := serve(off, http.MethodGet, "/healthz", "Origin", "https://app.example.com"); r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off, but Access-Control-Allow-Origin %q", r.Header().Get("Access-Control-Allow-Origin"))
	}
	on, _ := newSecured(t, []string{"https://app.example.com"})
	pre := serve(on, http.MethodOptions, "/orders", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type, idempotency-key")
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.ToLower(pre.Header().Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight from an allowed origin: %d %v", pre.Code, pre.Header())
	}
	if pre.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("credentials allowed")
	}
	if r := serve(on, http.MethodGet, "/healthz", "Origin", "https://evil.example.com"); r.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed origin got Access-Control-Allow-Origin %q", r.Header().Get("Access-Control-Allow-Origin"))
	}
}

// TestTokensNeverLogged: a refused token is logged by its reason, never by value.
func TestTokensNeverLogged(t *testing.T) {
	h, logs := newSecured(t, nil)
	const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2VjcmV0LXNpZ25hdHVyZQ"
	r := serve(h, http.MethodGet, "/orders", "Authorization", "Bearer "+token)
	if r.Code != http.StatusUnauthorized || r.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Fatalf("bad token: %d %v", r.Code, r.Header())
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), "c2VjcmV0LXNpZ25hdHVyZQ") {
		t.Errorf("the token is in the log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "signature is invalid") {
		t.Errorf("the reason is not in the debug log:\n%s", logs)
	}
}
