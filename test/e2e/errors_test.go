package e2e

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/api"
)

// fixture is a server with an order in each interesting state.
type fixture struct {
	base                                  string
	c                                     *api.ClientWithResponses
	pending, confirmed, cancelled, noLine uuid.UUID
	pendingVersion                        int64
}

func newFixture(t *testing.T, env map[string]string) fixture {
	t.Helper()
	f := fixture{base: startServer(t, env)}
	f.c = newClient(t, f.base)
	customer := uniqueCustomer("fixture")

	f.pending = placeOrder(t, f.c, customer).Id
	f.pendingVersion = addLine(t, f.c, f.pending, "SKU-1", 1, 100).Version

	f.confirmed = placeOrder(t, f.c, customer).Id
	addLine(t, f.c, f.confirmed, "SKU-1", 1, 100)
	confirmOrder(t, f.c, f.confirmed)

	f.cancelled = placeOrder(t, f.c, customer).Id
	cancelOrder(t, f.c, f.cancelled, "")

	f.noLine = placeOrder(t, f.c, customer).Id
	return f
}

// errorCase is one request that must fail in a given way.
type errorCase struct {
	name    string
	method  string
	path    string // relative to the base URL; {pending} etc. are replaced
	body    string
	headers []string // name/value pairs; a Content-Type here replaces application/json
	status  int
	code    string   // problem code, if the contract names one
	fields  []string // fields the problem's errors must name
	// mark is how the contract check sees the request: "valid", "rule" (valid, but
	// refused by a rule the operation's description states), "invalid", or "" for
	// invalid when the expected status is 400, 413 or 415 or any 4xx (0), else valid.
	mark string
}

func (f fixture) expand(path string) string {
	return strings.NewReplacer(
		"{pending}", f.pending.String(),
		"{confirmed}", f.confirmed.String(),
		"{cancelled}", f.cancelled.String(),
		"{noline}", f.noLine.String(),
		"{unknown}", uuid.NewString(),
	).Replace(path)
}

func (f fixture) run(t *testing.T, tc errorCase) *response {
	t.Helper()
	headers := tc.headers
	switch tc.mark {
	case "rule":
		headers = append(rule, headers...)
	case "invalid":
		headers = append(invalid, headers...)
	case "":
		switch tc.status {
		case 0, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			headers = append(invalid, headers...)
		}
	}
	return do(t, tc.method, f.base+f.expand(tc.path), tc.body, headers...)
}

// TestErrorStatuses walks every error status of the contract (except 503, see
// TestDatabaseUnavailable, and 413, see TestBodyLimit): status, problem document,
// code and the fields named.
func TestErrorStatuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	line := `{"sku":"SKU-9","quantity":1,"unit_price_cents":5}`

	cases := []errorCase{
		// 400: request validation, each naming its fields.
		{name: "place: empty customer and lower-case currency", method: "POST", path: "/orders",
			body: `{"customer_id":"","currency":"eur"}`, status: 400, code: "validation_failed", fields: []string{"customer_id", "currency"}},
		{name: "place: missing required fields", method: "POST", path: "/orders",
			body: `{}`, status: 400, code: "validation_failed"},
		// The contract: "unknown fields ... `errors` names each invalid field".
		{name: "place: unknown property", method: "POST", path: "/orders",
			body: `{"customer_id":"c","currency":"EUR","colour":"red"}`, status: 400, code: "validation_failed", fields: []string{"colour"}},
		{name: "place: malformed JSON", method: "POST", path: "/orders",
			body: `{"customer_id":"c",`, status: 400, code: "validation_failed"},
		{name: "place: id not a uuid", method: "POST", path: "/orders",
			body: `{"id":"not-a-uuid","customer_id":"c","currency":"EUR"}`, status: 400, code: "validation_failed", fields: []string{"id"}},
		{name: "line: quantity 0", method: "POST", path: "/orders/{pending}/lines",
			body: `{"sku":"S","quantity":0,"unit_price_cents":1}`, status: 400, code: "validation_failed", fields: []string{"quantity"}},
		{name: "line: negative price and empty sku", method: "POST", path: "/orders/{pending}/lines",
			body: `{"sku":"","quantity":1,"unit_price_cents":-1}`, status: 400, code: "validation_failed", fields: []string{"sku", "unit_price_cents"}},
		{name: "cancel: reason too long", method: "POST", path: "/orders/{pending}/cancel",
			body: `{"reason":"` + strings.Repeat("x", 501) + `"}`, status: 400, code: "validation_failed", fields: []string{"reason"}},
		{name: "get: bad uuid in path", method: "GET", path: "/orders/not-a-uuid", status: 400, code: "validation_failed", fields: []string{"id"}},
		{name: "lines: bad uuid in path", method: "POST", path: "/orders/1234/lines", body: line, status: 400, fields: []string{"id"}},
		{name: "events: bad uuid in path", method: "GET", path: "/orders/xyz/events", status: 400, fields: []string{"id"}},
		{name: "list: limit=0", method: "GET", path: "/orders?limit=0", status: 400, code: "validation_failed", fields: []string{"limit"}},
		{name: "list: limit=101", method: "GET", path: "/orders?limit=101", status: 400, code: "validation_failed", fields: []string{"limit"}},
		{name: "list: bad cursor", method: "GET", path: "/orders?cursor=not-a-cursor", status: 400, code: "validation_failed", fields: []string{"cursor"}, mark: "rule"},
		{name: "list: cursor outside the alphabet", method: "GET", path: "/orders?cursor=abc.def", status: 400, code: "validation_failed", fields: []string{"cursor"}},
		{name: "list: query string not decodable", method: "GET", path: "/orders?cursor=%%%", status: 400, code: "validation_failed", fields: []string{"query"}, mark: "rule"},
		{name: "confirm: a body", method: "POST", path: "/orders/{pending}/confirm", body: `{}`, status: 400, code: "validation_failed", fields: []string{"body"}},
		{name: "get: a body", method: "GET", path: "/orders/{pending}", body: `{}`, status: 400, code: "validation_failed", fields: []string{"body"}},
		{name: "healthz: a body", method: "GET", path: "/healthz", body: `{}`, status: 400, code: "validation_failed", fields: []string{"body"}},
		{name: "place: blank customer_id", method: "POST", path: "/orders", body: `{"customer_id":" \u00a0 ","currency":"EUR"}`, status: 400, fields: []string{"customer_id"}},
		{name: "line: control character in sku", method: "POST", path: "/orders/{pending}/lines", body: `{"sku":"a\u0085b","quantity":1,"unit_price_cents":1}`, status: 400, fields: []string{"sku"}},
		{name: "cancel: control character in reason", method: "POST", path: "/orders/{pending}/cancel", body: `{"reason":"a\u0007b"}`, status: 400, fields: []string{"reason"}},
		{name: "list: control character in customer_id", method: "GET", path: "/orders?customer_id=a%01b", status: 400, fields: []string{"customer_id"}},
		{name: "place: the nil UUID", method: "POST", path: "/orders", body: `{"id":"00000000-0000-0000-0000-000000000000","customer_id":"c","currency":"EUR"}`, status: 400, fields: []string{"id"}},
		{name: "list: unknown status", method: "GET", path: "/orders?status=shipped", status: 400, fields: []string{"status"}},
		{name: "get: version and at", method: "GET", path: "/orders/{pending}?version=1&at=2025-01-15T10:30:00Z", status: 400, code: "validation_failed", mark: "rule"},
		{name: "get: version=0", method: "GET", path: "/orders/{pending}?version=0", status: 400, fields: []string{"version"}},
		{name: "get: at not a date-time", method: "GET", path: "/orders/{pending}?at=yesterday", status: 400, fields: []string{"at"}},
		{name: "line: If-Match without quotes", method: "POST", path: "/orders/{pending}/lines", body: line,
			headers: []string{"If-Match", "3"}, status: 400, code: "validation_failed", fields: []string{"If-Match"}},
		// If-Match compares strongly (RFC 9110): a weak tag never matches.
		{name: "confirm: weak If-Match", method: "POST", path: "/orders/{pending}/confirm",
			headers: []string{"If-Match", `W/"2"`}, status: 412, code: "version_mismatch"},
		{name: "confirm: If-Match list without the version", method: "POST", path: "/orders/{pending}/confirm",
			headers: []string{"If-Match", `"1", "7"`}, status: 412, code: "version_mismatch"},

		// 404.
		{name: "get unknown order", method: "GET", path: "/orders/{unknown}", status: 404, code: "order_not_found"},
		{name: "line on unknown order", method: "POST", path: "/orders/{unknown}/lines", body: line, status: 404, code: "order_not_found"},
		{name: "confirm unknown order", method: "POST", path: "/orders/{unknown}/confirm", status: 404, code: "order_not_found"},
		{name: "cancel unknown order", method: "POST", path: "/orders/{unknown}/cancel", status: 404, code: "order_not_found"},
		{name: "cancel unknown order with body", method: "POST", path: "/orders/{unknown}/cancel", body: `{"reason":"x"}`, status: 404, code: "order_not_found"},
		{name: "events of unknown order", method: "GET", path: "/orders/{unknown}/events", status: 404, code: "order_not_found"},
		{name: "version beyond current", method: "GET", path: "/orders/{pending}?version=3", status: 404, code: "order_not_found"},
		{name: "at before placed", method: "GET", path: "/orders/{pending}?at=2000-01-01T00:00:00Z", status: 404, code: "order_not_found"},
		{name: "unknown order as of a version", method: "GET", path: "/orders/{unknown}?version=1", status: 404, code: "order_not_found"},
		{name: "unknown route", method: "GET", path: "/orders/{pending}/refunds", status: 404},

		// 405.
		{name: "DELETE an order", method: "DELETE", path: "/orders/{pending}", status: 405, code: "method_not_allowed"},
		{name: "GET confirm", method: "GET", path: "/orders/{pending}/confirm", status: 405, code: "method_not_allowed"},

		// 409.
		{name: "line on confirmed order", method: "POST", path: "/orders/{confirmed}/lines", body: line, status: 409, code: "order_not_pending"},
		{name: "line on cancelled order", method: "POST", path: "/orders/{cancelled}/lines", body: line, status: 409, code: "order_not_pending"},
		{name: "confirm order without lines", method: "POST", path: "/orders/{noline}/confirm", status: 409, code: "order_has_no_lines"},
		{name: "confirm cancelled order", method: "POST", path: "/orders/{cancelled}/confirm", status: 409, code: "order_cancelled"},

		// 412.
		{name: "stale If-Match on a line", method: "POST", path: "/orders/{pending}/lines", body: line,
			headers: []string{"If-Match", `"1"`}, status: 412, code: "version_mismatch"},

		// 415.
		{name: "place as text/plain", method: "POST", path: "/orders", body: `{"customer_id":"c","currency":"EUR"}`,
			headers: []string{"Content-Type", "text/plain"}, status: 415, code: "unsupported_media_type"},
		{name: "place as a vendor JSON type", method: "POST", path: "/orders", body: `{"customer_id":"c","currency":"EUR"}`,
			headers: []string{"Content-Type", "application/vnd.orders+json"}, status: 415, code: "unsupported_media_type"},
		{name: "place as merge-patch", method: "POST", path: "/orders", body: `{"customer_id":"c","currency":"EUR"}`,
			headers: []string{"Content-Type", "application/merge-patch+json"}, status: 415, code: "unsupported_media_type"},
		{name: "line as form", method: "POST", path: "/orders/{pending}/lines", body: `sku=a&quantity=1`,
			headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, code: "unsupported_media_type"},
		{name: "cancel as text/plain", method: "POST", path: "/orders/{pending}/cancel", body: `{}`,
			headers: []string{"Content-Type", "text/plain"}, status: 415, code: "unsupported_media_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(t, tc)
			p := checkProblem(t, tc.name, r, tc.status, tc.code)
			checkFields(t, tc.name, p, tc.fields...)
			if p.Instance == "" {
				t.Errorf("%s: problem has no instance", tc.name)
			}
		})
	}

	// 412 details: current version in the problem and the ETag header.
	r := do(t, "POST", f.base+"/orders/"+f.pending.String()+"/lines", line, "If-Match", `"1"`)
	p := checkProblem(t, "412", r, 412, "version_mismatch")
	if p.CurrentVersion == nil || *p.CurrentVersion != f.pendingVersion {
		t.Errorf("412: current_version %v, want %d", deref(p.CurrentVersion), f.pendingVersion)
	}
	if got, want := r.Header.Get("ETag"), `"`+itoa(f.pendingVersion)+`"`; got != want {
		t.Errorf("412: ETag %q, want %q", got, want)
	}

	// 422: one key, two different bodies.
	key := "e2e-422-" + uuid.NewString()
	first := do(t, "POST", f.base+"/orders/"+f.pending.String()+"/lines", line, "Idempotency-Key", key)
	if first.Status != http.StatusOK {
		t.Fatalf("first use of the key: %s", first)
	}
	second := do(t, "POST", f.base+"/orders/"+f.pending.String()+"/lines", `{"sku":"OTHER","quantity":1,"unit_price_cents":5}`, "Idempotency-Key", key)
	checkProblem(t, "422", second, http.StatusUnprocessableEntity, "idempotency_key_reused")

	// The failed requests recorded nothing: the pending order has its line plus the
	// one the idempotent request added.
	if evs := events(t, f.c, f.pending); len(evs) != 3 {
		t.Errorf("pending order has %d events after the error cases, want 3", len(evs))
	}
}

// TestBodyLimit sends bodies over BODY_LIMIT_BYTES, declared and chunked, to every
// command with a body.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"BODY_LIMIT_BYTES": "2048"})
	big := `{"customer_id":"c","currency":"EUR","pad":"` + strings.Repeat("x", 4096) + `"}`
	for _, path := range []string{"/orders", "/orders/{pending}/lines", "/orders/{pending}/cancel"} {
		u := f.base + f.expand(path)

		// Declared with Content-Length.
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(big))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(invalid[0], invalid[1])
		r := send(t, req)
		checkProblem(t, "Content-Length "+path, r, http.StatusRequestEntityTooLarge, "payload_too_large")

		// Chunked: no length known in advance.
		req, err = http.NewRequest(http.MethodPost, u, io.MultiReader(strings.NewReader(big)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(invalid[0], invalid[1])
		if req.ContentLength != 0 {
			t.Fatalf("request is not chunked: length %d", req.ContentLength)
		}
		r = send(t, req)
		checkProblem(t, "chunked "+path, r, http.StatusRequestEntityTooLarge, "payload_too_large")
	}

	// Just under the limit is fine (whitespace pads a valid request).
	ok := `{"customer_id":"under-limit","currency":"EUR"}`
	ok += strings.Repeat(" ", 2048-len(ok))
	r := do(t, http.MethodPost, f.base+"/orders", ok)
	if r.Status != http.StatusCreated {
		t.Errorf("body of exactly the limit: %s", r)
	}
	// And the server still works after the refused bodies.
	if evs := events(t, f.c, f.pending); len(evs) != 2 {
		t.Errorf("pending order has %d events, want 2", len(evs))
	}
}

// TestHostileRequests sends odd and hostile requests: every one must be answered with
// a 4xx problem document, never a 5xx, and never with internal details.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cursor := func(raw string) string { return url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(raw))) }
	deep := strings.Repeat("[", 3000) + strings.Repeat("]", 3000)
	cases := []errorCase{
		{name: "body null", method: "POST", path: "/orders", body: `null`},
		{name: "body array", method: "POST", path: "/orders", body: `[]`},
		{name: "body string", method: "POST", path: "/orders", body: `"x"`},
		{name: "empty body with JSON type", method: "POST", path: "/orders", headers: []string{"Content-Type", "application/json"}},
		{name: "trailing garbage", method: "POST", path: "/orders", body: `{"customer_id":"c","currency":"EUR"} {}`},
		{name: "byte order mark", method: "POST", path: "/orders", body: "\xef\xbb\xbf{\"customer_id\":\"c\",\"currency\":\"EUR\"}"},
		{name: "deeply nested value", method: "POST", path: "/orders", body: `{"customer_id":` + deep + `,"currency":"EUR"}`},
		{name: "NUL in customer_id", method: "POST", path: "/orders", body: `{"customer_id":"a\u0000b","currency":"EUR"}`},
		{name: "blank customer_id", method: "POST", path: "/orders", body: `{"customer_id":"   ","currency":"EUR"}`},
		{name: "customer_id 65 characters", method: "POST", path: "/orders", body: `{"customer_id":"` + strings.Repeat("é", 65) + `","currency":"EUR"}`},
		{name: "customer_id a number", method: "POST", path: "/orders", body: `{"customer_id":42,"currency":"EUR"}`},
		{name: "currency symbol", method: "POST", path: "/orders", body: `{"customer_id":"c","currency":"€UR"}`},
		{name: "id as a URN", method: "POST", path: "/orders", body: `{"id":"urn:uuid:` + uuid.NewString() + `","customer_id":"c","currency":"EUR"}`},
		{name: "bell in sku", method: "POST", path: "/orders/{pending}/lines", body: `{"sku":"a\u0007","quantity":1,"unit_price_cents":1}`},
		{name: "fractional quantity", method: "POST", path: "/orders/{pending}/lines", body: `{"sku":"a","quantity":1.5,"unit_price_cents":1}`},
		{name: "quantity as a string", method: "POST", path: "/orders/{pending}/lines", body: `{"sku":"a","quantity":"2","unit_price_cents":1}`},
		{name: "huge quantity", method: "POST", path: "/orders/{pending}/lines", body: `{"sku":"a","quantity":99999999999999999999999,"unit_price_cents":1}`},
		{name: "price over the maximum", method: "POST", path: "/orders/{pending}/lines", body: `{"sku":"a","quantity":1,"unit_price_cents":100000001}`},
		{name: "reason a number", method: "POST", path: "/orders/{pending}/cancel", body: `{"reason":5}`},
		{name: "Content-Type garbage", method: "POST", path: "/orders", body: `{"customer_id":"c","currency":"EUR"}`,
			headers: []string{"Content-Type", ";;;"}},
		{name: "confirm with a text body", method: "POST", path: "/orders/{pending}/confirm", body: `x`,
			headers: []string{"Content-Type", "text/plain"}},
		// Entity tags that are not the order's version never match: 412.
		{name: "If-Match zero", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"If-Match", `"0"`}, mark: "valid"},
		{name: "If-Match negative", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"If-Match", `"-1"`}, mark: "valid"},
		{name: "If-Match empty tag", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"If-Match", `""`}, mark: "valid"},
		{name: "If-Match list", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"If-Match", `"1", "3"`}, mark: "valid"},
		{name: "If-Match overflow", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"If-Match", `"99999999999999999999"`}, mark: "valid"},
		{name: "If-Match too long", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"If-Match", `"` + strings.Repeat("1", 300) + `"`}},
		{name: "Idempotency-Key too long", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"Idempotency-Key", strings.Repeat("k", 256)}},
		{name: "Idempotency-Key not ASCII", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"Idempotency-Key", "schlüssel"}},
		{name: "X-Correlation-ID not UTF-8", method: "POST", path: "/orders", body: `{"customer_id":"c","currency":"EUR"}`,
			headers: []string{"X-Correlation-ID", "corr-\xff\xfe"}},
		{name: "NUL in reason", method: "POST", path: "/orders/{pending}/cancel", body: `{"reason":"a\u0000b"}`},
		{name: "X-Correlation-ID too long", method: "POST", path: "/orders/{pending}/confirm", headers: []string{"X-Correlation-ID", strings.Repeat("c", 129)}},
		{name: "If-None-Match too long", method: "GET", path: "/orders/{pending}", headers: []string{"If-None-Match", strings.Repeat(`"1",`, 300)}},
		{name: "version negative", method: "GET", path: "/orders/{pending}?version=-1"},
		{name: "version not a number", method: "GET", path: "/orders/{pending}?version=abc"},
		{name: "version overflow", method: "GET", path: "/orders/{pending}?version=99999999999999999999"},
		{name: "version max int64", method: "GET", path: "/orders/{pending}?version=9223372036854775807", mark: "valid"},
		{name: "at without zone", method: "GET", path: "/orders/{pending}?at=2025-01-15T10:30:00"},
		{name: "at year 1", method: "GET", path: "/orders/{pending}?at=0001-01-01T00:00:00Z", mark: "valid"},
		{name: "limit not a number", method: "GET", path: "/orders?limit=ten"},
		{name: "limit negative", method: "GET", path: "/orders?limit=-5"},
		{name: "limit overflow", method: "GET", path: "/orders?limit=99999999999999999999"},
		{name: "status upper case", method: "GET", path: "/orders?status=PENDING"},
		{name: "customer_id filter too long", method: "GET", path: "/orders?customer_id=" + strings.Repeat("c", 65)},
		{name: "customer_id filter with NUL", method: "GET", path: "/orders?customer_id=a%00b"},
		{name: "customer_id filter invalid UTF-8", method: "GET", path: "/orders?customer_id=%FF%FE"},
		{name: "cursor too long", method: "GET", path: "/orders?cursor=" + strings.Repeat("A", 201)},
		{name: "cursor without separator", method: "GET", path: "/orders?cursor=" + cursor("1234567890"), mark: "rule"},
		{name: "cursor with bad uuid", method: "GET", path: "/orders?cursor=" + cursor("1736937000000000.not-a-uuid"), mark: "rule"},
		{name: "cursor with time overflow", method: "GET", path: "/orders?cursor=" + cursor("99999999999999999999."+uuid.NewString()), mark: "rule"},
		// Outside PostgreSQL's timestamptz range: must not wrap around into "no cursor".
		{name: "cursor far in the past", method: "GET", path: "/orders?cursor=" + cursor("-9223372036854775808."+uuid.NewString()), mark: "rule"},
		{name: "path uuid with braces", method: "GET", path: "/orders/%7B" + uuid.NewString() + "%7D"},
		{name: "path with encoded slash", method: "GET", path: "/orders/%2F/events"},
		{name: "unknown route", method: "POST", path: "/orders/{pending}/ship", body: `{}`},
		{name: "PUT on the collection", method: "PUT", path: "/orders", body: `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(t, tc)
			if r.Status < 400 || r.Status > 499 {
				t.Errorf("status %d, want 4xx: %s", r.Status, r.Body)
				checkNoLeak(t, tc.name, r.Body)
				return
			}
			checkProblem(t, tc.name, r, r.Status, "")
		})
	}

	// Nothing above changed the pending order.
	if evs := events(t, f.c, f.pending); len(evs) != 2 {
		t.Errorf("pending order has %d events after the hostile requests, want 2", len(evs))
	}
}

// TestNilUUIDAsClientChosenID: the client chooses the nil UUID as the order id. The
// contract lets the client choose the id, and the domain rejects the nil UUID
// ("id must not be the nil UUID"), so the answer must be 400 naming id, not an order
// created under some other id.
func TestNilUUIDAsClientChosenID(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	r := do(t, http.MethodPost, base+"/orders", `{"id":"00000000-0000-0000-0000-000000000000","customer_id":"nil-id","currency":"EUR"}`, invalid...)
	if r.Status == http.StatusCreated {
		t.Fatalf("the nil UUID as client-chosen id was accepted and replaced: 201 %s (Location %s)", r.Body, r.Header.Get("Location"))
	}
	p := checkProblem(t, "nil id", r, http.StatusBadRequest, "validation_failed")
	checkFields(t, "nil id", p, "id")
}

// TestLengthsCountCharacters: the contract counts lengths in characters, not bytes.
func TestLengthsCountCharacters(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	customer := strings.Repeat("€", 64) // 64 characters, 192 bytes
	r := do(t, http.MethodPost, base+"/orders", `{"customer_id":"`+customer+`","currency":"EUR"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("64-character customer id: %s", r)
	}
	o := decode[api.Order](t, "place", r.Body)
	if o.CustomerId != customer {
		t.Errorf("customer_id came back as %q", o.CustomerId)
	}
	line := do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/lines", `{"sku":"`+strings.Repeat("😀", 64)+`","quantity":1,"unit_price_cents":0}`)
	if line.Status != http.StatusOK {
		t.Errorf("64-character sku: %s", line)
	}
	reason := strings.Repeat("ü", 500)
	canc := do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/cancel", `{"reason":"`+reason+`"}`)
	if canc.Status != http.StatusOK {
		t.Errorf("500-character reason: %s", canc)
	}
	evs := events(t, c, o.Id)
	if len(evs) != 3 || evs[2].Data["reason"] != reason {
		t.Errorf("events %+v", evs)
	}
	if !bytes.Equal(getOrder(t, base, o.Id).Body, canc.Body) {
		t.Errorf("GET differs from the cancel response")
	}
}
