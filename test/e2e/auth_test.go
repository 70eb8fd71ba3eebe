package e2e

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/example/orders/api"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// TestAuthorization: a customer sees and changes only its own orders; another
// customer's order answers 404 as if missing (reads, time travel, history, commands,
// If-Match included), lists are the caller's, placing for someone else is 403; staff
// may do everything, events:read reads any history; the actor is in the metadata.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	alice, bob := uniqueCustomer("alice"), uniqueCustomer("bob")
	asAlice, asBob := as(alice, ""), as(bob, "")

	r := do(t, http.MethodPost, base+"/orders", `{"currency":"EUR"}`, asAlice...)
	if r.Status != http.StatusCreated {
		t.Fatalf("alice places without customer_id: %s", r)
	}
	o := decode[api.Order](t, "place", r.Body)
	if o.CustomerId != alice {
		t.Fatalf("customer_id %q, want the token's sub %q", o.CustomerId, alice)
	}
	orderURL := base + "/orders/" + o.Id.String()

	r = do(t, http.MethodPost, base+"/orders", `{"customer_id":"`+alice+`","currency":"EUR"}`, asBob...)
	checkProblem(t, "bob places for alice", r, http.StatusForbidden, "forbidden")

	for name, req := range map[string][3]string{
		"get":          {http.MethodGet, orderURL, ""},
		"head":         {http.MethodHead, orderURL, ""},
		"as of":        {http.MethodGet, orderURL + "?version=1", ""},
		"history":      {http.MethodGet, orderURL + "/events", ""},
		"add line":     {http.MethodPost, orderURL + "/lines", `{"sku":"x","quantity":1,"unit_price_cents":1}`},
		"confirm":      {http.MethodPost, orderURL + "/confirm", ""},
		"cancel":       {http.MethodPost, orderURL + "/cancel", `{"reason":"mine now"}`},
		"if-match add": {http.MethodPost, orderURL + "/lines", `{"sku":"x","quantity":1,"unit_price_cents":1}`},
	} {
		headers := asBob
		if name == "if-match add" {
			headers = append([]string{"If-Match", `"7"`}, asBob...)
		}
		r := do(t, req[0], req[1], req[2], headers...)
		if r.Status != http.StatusNotFound {
			t.Errorf("bob %s alice's order: %s, want 404", name, r)
		} else if req[0] != http.MethodHead {
			checkProblem(t, "bob "+name, r, http.StatusNotFound, "order_not_found")
		}
	}
	if r := getOrder(t, base, o.Id); r.Status != http.StatusOK {
		t.Errorf("alice's order after bob's attempts: %s", r)
	}
	if got := decode[api.Order](t, "get", do(t, http.MethodGet, orderURL, "", asAlice...).Body); got.Version != 1 {
		t.Errorf("bob changed alice's order: version %d", got.Version)
	}

	list := func(query string, headers []string) []api.Order {
		t.Helper()
		r := do(t, http.MethodGet, base+"/orders"+query, "", headers...)
		if r.Status != http.StatusOK {
			t.Fatalf("list %s: %s", query, r)
		}
		return decode[api.OrderPage](t, "list", r.Body).Items
	}
	do(t, http.MethodPost, base+"/orders", `{"currency":"USD"}`, asBob...)
	for _, o := range list("", asBob) {
		if o.CustomerId != bob {
			t.Errorf("bob's list holds %s's order", o.CustomerId)
		}
	}
	if got := list("?customer_id="+alice, asBob); len(got) != 0 {
		t.Errorf("bob listing alice's orders got %d", len(got))
	}
	if got := list("", asAlice); len(got) != 1 || got[0].Id != o.Id {
		t.Errorf("alice's list: %+v", got)
	}
	if got := list("?customer_id="+alice, nil); len(got) != 1 {
		t.Errorf("staff listing alice's orders got %d", len(got))
	}

	// Staff acts on anyone's order; the actor goes into the metadata.
	staff := as("clerk-1", "orders:staff")
	if r := do(t, http.MethodPost, orderURL+"/lines", `{"sku":"book","quantity":1,"unit_price_cents":100}`, staff...); r.Status != http.StatusOK {
		t.Errorf("staff adds a line to alice's order: %s", r)
	}
	if r := do(t, http.MethodPost, base+"/orders", `{"customer_id":"`+bob+`","currency":"EUR"}`, staff...); r.Status != http.StatusCreated {
		t.Errorf("staff places for bob: %s", r)
	}
	r = do(t, http.MethodGet, orderURL+"/events", "", as("auditor", "events:read")...)
	if r.Status != http.StatusOK {
		t.Fatalf("events:read reads alice's history: %s", r)
	}
	evs := decode[api.EventList](t, "events", r.Body).Items
	if len(evs) != 2 || evs[0].Metadata["actor"] != alice || evs[1].Metadata["actor"] != "clerk-1" {
		t.Errorf("actors in the metadata: %+v", evs)
	}
	if r := do(t, http.MethodGet, orderURL, "", as("auditor", "events:read")...); r.Status != http.StatusNotFound {
		t.Errorf("events:read alone reads the order: %s", r)
	}
}

// TestIdempotencyKeyScopedByPrincipal: bob reusing alice's Idempotency-Key with the
// same request gets his own execution, not alice's response; alice still gets hers.
func TestIdempotencyKeyScopedByPrincipal(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	alice, bob := uniqueCustomer("alice"), uniqueCustomer("bob")
	const body = `{"currency":"EUR"}`
	key := []string{"Idempotency-Key", "shared-key-1"}
	first := do(t, http.MethodPost, base+"/orders", body, append(key, as(alice, "")...)...)
	theirs := do(t, http.MethodPost, base+"/orders", body, append(key, as(bob, "")...)...)
	again := do(t, http.MethodPost, base+"/orders", body, append(key, as(alice, "")...)...)
	if first.Status != http.StatusCreated || theirs.Status != http.StatusCreated || again.Status != http.StatusCreated {
		t.Fatalf("statuses %d %d %d", first.Status, theirs.Status, again.Status)
	}
	a, b := decode[api.Order](t, "alice", first.Body), decode[api.Order](t, "bob", theirs.Body)
	if theirs.Header.Get("Idempotency-Replayed") != "" || a.Id == b.Id || b.CustomerId != bob {
		t.Errorf("bob got alice's response: replayed=%q, ids %s %s, customer %q", theirs.Header.Get("Idempotency-Replayed"), a.Id, b.Id, b.CustomerId)
	}
	if again.Header.Get("Idempotency-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Errorf("alice's repeat was not her replay: %s", again)
	}
}

// TestUnauthenticated: no token is 401 with a bare challenge, a bad one 401 with
// error="invalid_token"; the probes and the contract are public; the security headers
// are on every response, no-store on the authenticated ones, and no Server header.
func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	for name, c := range map[string]struct {
		headers   []string
		challenge string
	}{
		"no token":     {noAuth, "Bearer"},
		"basic auth":   {[]string{"Authorization", "Basic YWxpY2U6c2VjcmV0"}, "Bearer"},
		"garbage":      {[]string{"Authorization", "Bearer not-a-token"}, `Bearer error="invalid_token"`},
		"other secret": {[]string{"Authorization", "Bearer " + signWith(t, "another-secret-of-at-least-32-bytes!!")}, `Bearer error="invalid_token"`},
		"empty bearer": {[]string{"Authorization", "Bearer "}, `Bearer error="invalid_token"`},
	} {
		for _, path := range []string{"/orders", "/orders/0190a0c4-7b3c-7d4e-8f00-000000000001/events"} {
			r := do(t, http.MethodGet, base+path, "", c.headers...)
			checkProblem(t, name+" "+path, r, http.StatusUnauthorized, "unauthorized")
			if got := r.Header.Get("WWW-Authenticate"); got != c.challenge {
				t.Errorf("%s %s: WWW-Authenticate %q, want %q", name, path, got, c.challenge)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q", name, r.Header.Get("Cache-Control"))
			}
		}
	}
	r := do(t, http.MethodPost, base+"/orders", `{"currency":"EUR"}`, noAuth...)
	checkProblem(t, "place without token", r, http.StatusUnauthorized, "unauthorized")

	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		r := do(t, http.MethodGet, base+path, "", noAuth...)
		if r.Status != http.StatusOK {
			t.Errorf("%s without a token: %s", path, r)
		}
		if r.Header.Get("Cache-Control") == "no-store" {
			t.Errorf("%s: a public response marked no-store", path)
		}
	}
	r = do(t, http.MethodGet, base+"/orders", "")
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", "Cache-Control": "no-store",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if s, ok := r.Header["Server"]; ok {
		t.Errorf("Server header %q", s)
	}
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS without CORS_ALLOWED_ORIGINS")
	}
}

func signWith(t *testing.T, secret string) string {
	t.Helper()
	out, err := exec.Command(binPath, "token", "--sub", "alice").Output()
	if err == nil {
		t.Fatalf("token without AUTH_HS256_SECRET succeeded: %s", out)
	}
	cmd := exec.Command(binPath, "token", "--sub", "alice", "--scope", "orders:staff")
	cmd.Env = []string{"AUTH_HS256_SECRET=" + secret}
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("orders token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestServeNeedsAuthConfiguration: serve refuses to start without any authentication
// configuration; AUTH_MODE=none starts, warns, and lets anyone in.
func TestServeNeedsAuthConfiguration(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	cmd := exec.Command(binPath, "serve")
	cmd.Env = serverEnv(map[string]string{"DATABASE_URL": dbURL, "LISTEN_ADDR": "127.0.0.1:0"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		t.Fatal("serve without auth configuration kept running")
	}
	if err == nil || !strings.Contains(string(out), "no authentication configured") {
		t.Errorf("serve without auth configuration: %v: %s", err, out)
	}

	s := startServerOn(t, dbURL, map[string]string{"AUTH_MODE": "none", "AUTH_HS256_SECRET": ""})
	if !strings.Contains(s.out.String(), "AUTH_MODE=none") {
		t.Errorf("AUTH_MODE=none did not warn:\n%s", s.out.String())
	}
	r := do(t, http.MethodPost, s.URL+"/orders", `{"customer_id":"anyone","currency":"EUR"}`, noAuth...)
	if r.Status != http.StatusCreated {
		t.Errorf("AUTH_MODE=none place without token: %s", r)
	}
}

// TestAppRolePrivileges: the service's role may not rewrite history or change the
// schema: UPDATE, DELETE and TRUNCATE on events and CREATE TABLE are refused for lack
// of privilege (before the append-only trigger is even asked), while it reads and
// appends. A table a later migration adds is the role's to use (default privileges).
func TestAppRolePrivileges(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	s := startServerOn(t, dbURL, nil)
	placeOrder(t, newClient(t, s.URL), uniqueCustomer("priv"))
	ctx := context.Background()
	appURL, err := testsupport.AppRoleURL(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, appURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"UPDATE events SET payload = '{}'",
		"DELETE FROM events",
		"TRUNCATE events",
		"CREATE TABLE sneaky (id int)",
		"DROP TABLE order_overview",
		"ALTER TABLE events DISABLE TRIGGER ALL",
		"INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)",
	} {
		_, err := conn.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "42501" && pgErr.Code != "42P01") {
			t.Errorf("%s as the app role: %v, want insufficient_privilege", stmt, err)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&n); err != nil || n == 0 {
		t.Errorf("app role reads events: %d %v", n, err)
	}

	owner, err := pgx.Connect(ctx, dbURL) // as the migrations would
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, "CREATE TABLE later_read_model (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"INSERT INTO later_read_model VALUES (1)", "UPDATE later_read_model SET id = 2", "DELETE FROM later_read_model"} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Errorf("%s as the app role on a table added later: %v", stmt, err)
		}
	}
}

// The event feed is everyone's events: only staff and the events:read scope read it.
func TestEventFeedNeedsTheEventsReadScope(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	for _, path := range []string{"/events", "/events/stream"} {
		r := do(t, http.MethodGet, base+path, "", as("alice", "")...)
		checkProblem(t, "a customer reads "+path, r, http.StatusForbidden, "forbidden")
		r = do(t, http.MethodGet, base+path, "", noAuth...)
		checkProblem(t, "nobody reads "+path, r, http.StatusUnauthorized, "unauthorized")
	}
	if r := do(t, http.MethodGet, base+"/events?limit=1", "", as("reporting", "events:read")...); r.Status != http.StatusOK {
		t.Fatalf("events:read reads the feed: %d %s", r.Status, r.Body)
	}
}
