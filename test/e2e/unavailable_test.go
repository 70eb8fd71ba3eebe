package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/test/pgtest"
)

// TestDatabaseUnavailable takes the database away under a running server (DROP
// DATABASE ... WITH (FORCE) terminates the pool's connections and makes reconnecting
// fail). Requests that need the database must then answer 503 with Retry-After within
// REQUEST_TIMEOUT, readiness must say 503, liveness 200, and the server must still shut
// down cleanly.
func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	const requestTimeout = 2 * time.Second
	dbURL := pgtest.NewDatabase(t)
	s := startServerOn(t, dbURL, map[string]string{"REQUEST_TIMEOUT": requestTimeout.String()})
	c := newClient(t, s.URL)
	o := placeOrder(t, c, uniqueCustomer("gone"))

	dropDatabase(t, dbURL)

	requests := []struct {
		name, method, path, body string
	}{
		{"place", http.MethodPost, "/orders", `{"customer_id":"c","currency":"EUR"}`},
		{"place again", http.MethodPost, "/orders", `{"customer_id":"c","currency":"EUR"}`},
		{"add line", http.MethodPost, "/orders/" + o.Id.String() + "/lines", `{"sku":"s","quantity":1,"unit_price_cents":1}`},
		{"get", http.MethodGet, "/orders/" + o.Id.String(), ""},
		{"list", http.MethodGet, "/orders", ""},
		{"events", http.MethodGet, "/orders/" + o.Id.String() + "/events", ""},
		{"readyz", http.MethodGet, "/readyz", ""},
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			begin := time.Now()
			r := do(t, rq.method, s.URL+rq.path, rq.body)
			took := time.Since(begin)
			code := "unavailable"
			if rq.name == "readyz" {
				code = "" // readiness has its own code; the status is what probes read
			}
			checkProblem(t, rq.name, r, http.StatusServiceUnavailable, code)
			ra := r.Header.Get("Retry-After")
			if n, err := strconv.Atoi(ra); err != nil || n < 0 {
				t.Errorf("Retry-After %q, want a number of seconds", ra)
			}
			if took >= requestTimeout+time.Second {
				t.Errorf("answered after %v, want less than REQUEST_TIMEOUT + 1s = %v", took, requestTimeout+time.Second)
			}
		})
	}

	// Liveness does not depend on the database.
	if r := do(t, http.MethodGet, s.URL+"/healthz", ""); r.Status != http.StatusOK {
		t.Errorf("healthz with the database gone: %s", r)
	}
}

// dropDatabase drops the database of dbURL, terminating its connections, through the
// server's maintenance database.
func dropDatabase(t *testing.T, dbURL string) {
	t.Helper()
	adminExec(t, dbURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{databaseOf(t, dbURL)}.Sanitize()+" WITH (FORCE)")
}

// databaseOf is the database name in a postgres:// URL.
func databaseOf(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		t.Fatalf("need a postgres:// URL, got %q: %v", dbURL, err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// withDatabase is dbURL with another database.
func withDatabase(t *testing.T, dbURL, name string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		t.Fatalf("need a postgres:// URL, got %q: %v", dbURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// adminExec runs sql in the maintenance database ("postgres") of dbURL's server.
func adminExec(t *testing.T, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, withDatabase(t, dbURL, "postgres"))
	if err != nil {
		t.Fatalf("connect to the maintenance database: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
