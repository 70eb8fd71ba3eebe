package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment" // example: shipment
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/httpapi"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/feed"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/infrastructure/wiring"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// FuzzHTTPRequests feeds random requests (method, target, headers, body, chunked or
// not) to the real handler, wired as cmd/orders wires it, over a real database, in
// process (no sockets). Whatever the input: no panic, no 5xx, and every error is an
// application/problem+json document whose status is the response's.
//
// In the target, "{id}" stands for an existing order (pending, with a line) and
// "{missing}" for an id nothing has.
// "{shipment}" stands for an existing shipment. // example: shipment
// Headers are "Name: value" lines. Besides the hand-written seeds, every path and query
// parameter of every operation in the contract is seeded with hostile values
// (parameterSeeds), so a new route is fuzzed without anyone listing it here. Inputs net/http
// would refuse before any handler runs (a method that is not a token, a target with
// spaces or control characters, header lines that are not valid) are skipped or
// dropped, since the server never delivers them.
//
//	go test -run '^$' -fuzz '^FuzzHTTPRequests$' -fuzztime 30s ./cmd/orders/
func FuzzHTTPRequests(f *testing.F) {
	pool := pgtest.NewPool(f, pgtest.MaxConns(4))
	codec := eventcodec.NewOrderRegistry()
	// The composition root's own registration: every aggregate the service serves.
	var aggregates application.Aggregates
	known := wiring.Aggregates(pool, nil, testsupport.NewKeys(f), appkit.RunnerConfig{}, &aggregates)
	// The customer summary is built (its consumer run until it has the orders below)
	// so that reads reach its table; its position is then taken as caught up, so that
	// a fuzzed min_position does not wait out the request timeout (a 503).
	summaries := customersummary.NewReader(pool)
	app, err := application.NewApp(aggregates, application.Ports{CustomerSummaries: caughtUp{summaries},
		Consumers: subscription.NewStatusReader(pool), PersonalData: personaldata.Eraser{Pool: pool}}, appkit.RunnerConfig{})
	if err != nil {
		f.Fatal(err)
	}
	id := uuid.Must(application.NewID())
	ctx := appkit.AsSystem(context.Background())
	if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "fuzz", Currency: "EUR"}); err != nil {
		f.Fatal(err)
	}
	if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "sku", Quantity: 1, UnitPriceCents: 100}); err != nil {
		f.Fatal(err)
	}
	placed := int64(1) // orders of customer fuzz, for its summary to count
	missing := uuid.Must(application.NewID())
	// example: shipment begin
	shipped := uuid.Must(application.NewID())
	placed++
	if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: shipped, CustomerID: "fuzz", Currency: "EUR"}); err != nil {
		f.Fatal(err)
	}
	if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: shipped, SKU: "sku", Quantity: 1, UnitPriceCents: 100}); err != nil {
		f.Fatal(err)
	}
	if _, err := app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: shipped}); err != nil {
		f.Fatal(err)
	}
	if _, err := app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: shipped}); err != nil {
		f.Fatal(err)
	}
	// example: shipment end

	buildSummary(f, pool, summaries, codec, placed)

	logs := &testsupport.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	closed := make(chan struct{}) // a stream ends after its first flush: the fuzzer needs answers
	close(closed)
	handler, err := httpapi.New(app, postgres.NewReadiness(pool), feed.New(pool, 0, testsupport.NewKeys(f), logger), httpapi.Config{BodyLimit: 4096, RequestTimeout: 2 * time.Second,
		Feed: httpapi.FeedConfig{EventTypes: known.EventTypes, Heartbeat: time.Second, WriteTimeout: time.Second, MaxStreams: 4, Shutdown: closed}}, logger)
	if err != nil {
		f.Fatal(err)
	}

	for _, s := range append(seeds(), parameterSeeds(f)...) {
		f.Add(s.method, s.target, s.headers, []byte(s.body), s.chunked)
	}

	fill := strings.NewReplacer("{id}", id.String(), "{missing}", missing.String(),
		"{shipment}", shipment.ShipmentIDFor(shipped).String(), // example: shipment
	)
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte, chunked bool) {
		target = fill.Replace(target)
		req := buildRequest(method, target, headers, body, chunked)
		if req == nil {
			return
		}
		logs.Reset()
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)

		res := rec.Result()
		got := rec.Body.Bytes()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q: %d %s\nlog:\n%s", method, target, res.StatusCode, got, logs.String())
		}
		if res.StatusCode < 400 {
			return
		}
		if msg := problemIssue(res, got); msg != "" {
			t.Fatalf("%s %q: %d answer is not a problem document: %s: %q\nlog:\n%s", method, target, res.StatusCode, msg, got, logs.String())
		}
	})
}

// caughtUp is a customer_summary reader whose position is always ahead of any
// min_position.
type caughtUp struct{ *customersummary.Reader }

func (caughtUp) Position(context.Context) (int64, error) { return math.MaxInt64, nil }

// buildSummary runs the customer_summary consumer until the summary of customer
// "fuzz" has its placed orders.
func buildSummary(tb testing.TB, pool *pgxpool.Pool, summaries *customersummary.Reader, codec *eventcodec.Registry[order.Event], placed int64) {
	ctx, cancel := context.WithCancel(appkit.AsSystem(context.Background()))
	rt := subscription.New(pool.Config().ConnConfig, subscription.Options{PollInterval: 10 * time.Millisecond, LockRetry: 50 * time.Millisecond},
		customersummary.Consumer(codec))
	done := make(chan struct{})
	go func() { defer close(done); rt.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if s, _, err := summaries.CustomerSummary(ctx, "fuzz"); err == nil && s.OrdersPlaced == placed {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal("the customer_summary consumer did not catch up")
		}
	}
}

// hostileParameterValues are URL-encoded parameter values worth starting from: C0 and
// C1 control characters (NUL, which PostgreSQL refuses in text, among them), DEL,
// invalid UTF-8, an encoded surrogate and a long value.
var hostileParameterValues = []string{"%00", "a%00b", "%01", "%09", "%0A", "%0D%0A", "%1F", "%7F", "%C2%80", "%C2%9F",
	"%ff%fe", "%ED%A0%80", "%E2%80%AE", strings.Repeat("x", 300)}

// parameterSeeds are, for every operation of the contract, requests that put each
// hostile value into each of its path and query parameters in turn, the other path
// parameters standing for existing resources.
func parameterSeeds(tb testing.TB) []seed {
	doc, err := api.GetSpec()
	if err != nil {
		tb.Fatal(err)
	}
	var out []seed
	for _, pt := range testsupport.ParameterTargets(doc, existing, hostileParameterValues) {
		out = append(out, seed{method: pt.Method, target: pt.Target})
	}
	return out
}

// existing is a value of a path's id that names something that exists.
func existing(path string) string {
	switch {
	case strings.HasPrefix(path, "/orders/"):
		return "{id}"
	case strings.HasPrefix(path, "/shipments/"): // example: shipment
		return "{shipment}" // example: shipment
	}
	return "fuzz" // a customer id
}

// problemIssue says why an error answer is not an RFC 9457 problem document, or "".
func problemIssue(res *http.Response, body []byte) string {
	mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || mt != "application/problem+json" {
		return "Content-Type " + res.Header.Get("Content-Type")
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		return "body is not a JSON object: " + err.Error()
	}
	if status, ok := p["status"].(float64); !ok || int(status) != res.StatusCode {
		return "member status does not match"
	}
	for _, m := range []string{"type", "title", "detail"} {
		if s, ok := p[m].(string); !ok || s == "" {
			return "member " + m + " missing or empty"
		}
	}
	return ""
}

// buildRequest makes the *http.Request that net/http's server would hand to the
// handler for these bytes, or nil if the server would refuse them itself.
func buildRequest(method, target, headers string, body []byte, chunked bool) *http.Request {
	if !isToken(method) || target == "" || strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil
	}
	req := &http.Request{
		Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: "orders.test", RemoteAddr: "192.0.2.1:40000",
	}
	for _, line := range strings.Split(headers, "\n") {
		name, value, ok := strings.Cut(line, ":")
		value = strings.Trim(value, " \t")
		if !ok || !isToken(name) || !validHeaderValue(value) {
			continue
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Transfer-Encoding":
			continue // the server derives these from the message itself
		}
		req.Header.Add(name, value)
	}
	switch {
	case chunked:
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
		req.Body = io.NopCloser(bytes.NewReader(body))
	case len(body) == 0:
		req.Body = http.NoBody
	default:
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return req.WithContext(appkit.AsSystem(context.Background()))
}

// isToken: RFC 9110 token, what methods and header names are made of.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}

// validHeaderValue: no control characters but horizontal tab (obs-text, bytes >= 0x80,
// is allowed, as net/http allows it).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

type seed struct {
	method, target, headers, body string
	chunked                       bool
}

// seeds are valid requests and the hostile cases worth starting from.
func seeds() []seed {
	const (
		ctJSON    = "Content-Type: application/json"
		place     = `{"customer_id":"cust-1","currency":"EUR"}`
		line      = `{"sku":"sku-1","quantity":2,"unit_price_cents":1999}`
		rtl       = "\u202Eevil\u202C"
		zwj       = "👨\u200D👩\u200D👧\u200D👦"
		combining = "e\u0301\u0302\u0303\u0304"
		fourByte  = "𝄞𠜎😀"
	)
	long := strings.Repeat("x", 5000)
	deepArray := strings.Repeat("[", 2000) + strings.Repeat("]", 2000)
	deepObject := `{"sku":` + strings.Repeat(`{"a":`, 500) + "1" + strings.Repeat("}", 500) + `,"quantity":1,"unit_price_cents":1}`
	return []seed{
		// valid requests, one per operation
		{"POST", "/orders", ctJSON, place, false},
		{"POST", "/orders", ctJSON + "\nIdempotency-Key: key-1\nX-Correlation-ID: corr-1", `{"id":"5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11","customer_id":"c","currency":"SEK"}`, false},
		{"GET", "/orders?status=pending&limit=2", "", "", false},
		{"GET", "/orders?customer_id=fuzz&cursor=eyJwIjoiMjAyNS0wMS0xNVQxMDozMDowMFoiLCJpIjoiNWYyYyJ9", "", "", false},
		{"GET", "/orders/{id}", "If-None-Match: \"2\"", "", false},
		{"GET", "/orders/{id}?version=1", "", "", false},
		{"GET", "/orders/{id}?at=2025-01-15T10:31:00Z", "", "", false},
		{"GET", "/orders/{id}/events", "", "", false},
		{"GET", "/orders/{missing}", "", "", false},
		{"POST", "/orders/{id}/lines", ctJSON + "\nIf-Match: \"2\"", line, false},
		{"POST", "/orders/{id}/lines", ctJSON, line, true},
		{"POST", "/orders/{id}/confirm", "If-Match: \"3\"", "", false},
		{"POST", "/orders/{id}/cancel", ctJSON, `{"reason":"changed my mind"}`, false},
		{"POST", "/orders/{missing}/cancel", "", "", false},
		{"GET", "/healthz", "", "", false},
		{"GET", "/readyz", "", "", false},
		{"GET", "/openapi.yaml", "", "", false},
		{"HEAD", "/orders", "", "", false},
		{"OPTIONS", "/orders", "", "", false},
		{"DELETE", "/orders/{id}", "", "", false},
		{"PUT", "/orders/{id}/lines", ctJSON, line, false},
		// huge and odd numbers
		{"POST", "/orders/{id}/lines", ctJSON, `{"sku":"s","quantity":1e400,"unit_price_cents":99999999999999999999999}`, false},
		{"POST", "/orders/{id}/lines", ctJSON, `{"sku":"s","quantity":-9223372036854775809,"unit_price_cents":-0}`, false},
		{"POST", "/orders/{id}/lines", ctJSON, `{"sku":"s","quantity":1.5,"unit_price_cents":1E2}`, false},
		{"GET", "/orders/{id}?version=99999999999999999999", "", "", false},
		{"GET", "/orders/{id}?version=9223372036854775807", "", "", false},
		{"GET", "/orders/{id}?version=1&at=2025-01-15T10:31:00Z", "", "", false},
		{"GET", "/orders/{id}?at=0001-01-01T00:00:00Z", "", "", false},
		{"GET", "/orders/{id}?at=9999-12-31T23:59:59.999999999%2B14:00", "", "", false},
		{"GET", "/orders?limit=1e309", "", "", false},
		{"GET", "/orders?limit=0&limit=101", "", "", false},
		{"POST", "/orders/{id}/confirm", "If-Match: \"99999999999999999999\"", "", false},
		{"POST", "/orders/{id}/confirm", "If-Match: W/\"2\"", "", false},
		// nested JSON
		{"POST", "/orders", ctJSON, deepArray, false},
		{"POST", "/orders/{id}/lines", ctJSON, deepObject, false},
		{"POST", "/orders", ctJSON, `{"customer_id":{"a":[1,{"b":[null,{}]}]},"currency":["EUR"]}`, false},
		// invalid UTF-8
		{"POST", "/orders", ctJSON, "{\"customer_id\":\"\xff\xfe\",\"currency\":\"EUR\"}", false},
		{"POST", "/orders", ctJSON, "\xff\xfe{\x00\"\x00}", false},
		{"POST", "/orders", ctJSON + "\nX-Correlation-ID: \xff\xfe", place, false},
		{"POST", "/orders", ctJSON + "\nIdempotency-Key: \xc0\xaf", place, false},
		{"GET", "/orders?customer_id=%ff%fe", "", "", false},
		{"GET", "/orders/%ff", "", "", false},
		{"POST", "/orders/{id}/cancel", ctJSON, `{"reason":"\ud800"}`, false},
		// NUL bytes
		{"POST", "/orders", ctJSON, "{\"customer_id\":\"a\x00b\",\"currency\":\"EUR\"}", false},
		{"POST", "/orders", ctJSON, `{"customer_id":"a\u0000b","currency":"EUR"}`, false},
		{"POST", "/orders/{id}/cancel", ctJSON, `{"reason":"\u0000"}`, true},
		{"GET", "/orders/%00", "", "", false},
		{"GET", "/orders/{id}%00", "", "", false},
		{"POST", "/orders/{id}/lines%00", ctJSON, line, false},
		{"GET", "/orders?customer_id=%00&status=%00", "", "", false},
		// very long strings
		{"POST", "/orders", ctJSON, `{"customer_id":"` + long + `","currency":"EUR"}`, false},
		{"POST", "/orders", ctJSON, `{"customer_id":"` + long + `","currency":"EUR"}`, true},
		{"POST", "/orders", ctJSON + "\nX-Correlation-ID: " + long + "\nIdempotency-Key: " + long, place, false},
		{"GET", "/orders?customer_id=" + long + "&cursor=" + long, "", "", false},
		{"GET", "/orders/" + long, "If-None-Match: " + strings.Repeat(`"1",`, 1000), "", false},
		// odd Unicode everywhere
		{"POST", "/orders", ctJSON + "\nX-Correlation-ID: " + rtl + zwj, `{"customer_id":"` + rtl + combining + `","currency":"EUR"}`, false},
		{"POST", "/orders/{id}/lines", ctJSON + "\nIdempotency-Key: " + fourByte, `{"sku":"` + zwj + fourByte + `","quantity":1,"unit_price_cents":1}`, false},
		{"POST", "/orders/{id}/cancel", ctJSON, `{"reason":"` + strings.Repeat(combining, 100) + `"}`, false},
		{"POST", "/orders", ctJSON, `{"customer_id":"` + strings.Repeat("😀", 65) + `","currency":"ЕUR"}`, false},
		{"GET", "/orders?customer_id=" + url.QueryEscape(rtl+zwj), "", "", false},
		{"GET", "/orders/" + url.PathEscape(fourByte), "", "", false},
		// content types and framing
		{"POST", "/orders", "Content-Type: text/plain", place, false},
		{"POST", "/orders", "Content-Type: application/json; charset=utf-16", place, false},
		{"POST", "/orders", "Content-Type: application/merge-patch+json", place, false},
		{"POST", "/orders", "Content-Type: ;;;", place, false},
		{"POST", "/orders", "", place, false},
		{"POST", "/orders", ctJSON, place + " " + place, false},
		{"POST", "/orders", ctJSON, "\xef\xbb\xbf" + place, false},
		{"POST", "/orders", ctJSON, "", true},
		{"POST", "/orders/{id}/confirm", ctJSON, strings.Repeat(" ", 5000), true},
		{"POST", "/orders/{id}/confirm", "Content-Type: text/plain", "x", false},
	}
}
