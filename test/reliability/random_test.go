package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// testRandomRequests sends random requests over real sockets: random methods, paths
// (with percent-encoded junk and NULs), query parameters, headers and bodies (mutated
// valid bodies, deep nesting, huge numbers, invalid UTF-8, NULs, BOMs). No answer may
// be a 5xx, and every error the service answers is a problem document.
func testRandomRequests(t *testing.T, svc *service) {
	ids := []string{placeOrder(t, svc, "random"), placeOrder(t, svc, "random"), uuid.NewString()}
	n := pick(400, 200000)
	limit := pick(20*time.Second, 40*time.Second)
	workers := pick(2, 4)
	deadline := time.Now().Add(limit)
	var next atomic.Int64
	var sent, skipped atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(rng *rand.Rand) {
			defer wg.Done()
			for int(next.Add(1)) <= n && time.Now().Before(deadline) {
				rq := randomRequest(rng, ids)
				r, ok := rq.send(svc.URL)
				if !ok {
					skipped.Add(1)
					continue
				}
				sent.Add(1)
				stats.inputs.Add(1)
				checkRandomAnswer(t, rq, r)
			}
		}(newRand(fmt.Sprintf("%s/%d", t.Name(), w)))
	}
	wg.Wait()
	t.Logf("%d random requests sent (%d not sendable with net/http, skipped)", sent.Load(), skipped.Load())
}

type randomReq struct {
	method  string
	target  string // request target as sent, path and query
	headers [][2]string
	body    []byte
	chunked bool
}

func (rq randomReq) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", rq.method, rq.target)
	for _, h := range rq.headers {
		fmt.Fprintf(&b, " [%s: %q]", h[0], h[1])
	}
	if rq.body != nil {
		s := string(rq.body)
		if len(s) > 300 {
			s = s[:300] + fmt.Sprintf("...(%d bytes)", len(rq.body))
		}
		fmt.Fprintf(&b, " body %q (chunked %v)", s, rq.chunked)
	}
	return b.String()
}

// send sends the request as it is; ok is false when net/http will not send it at all.
func (rq randomReq) send(base string) (*response, bool) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, false
	}
	u.Opaque = rq.target // sent verbatim
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
		if rq.chunked {
			body = io.MultiReader(body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, rq.method, base, body)
	if err != nil {
		return nil, false
	}
	req.URL = u
	if rq.chunked {
		req.ContentLength = -1
	}
	for _, h := range rq.headers {
		req.Header.Add(h[0], h[1])
	}
	stats.requests.Add(1)
	begin := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "net/http:") || strings.Contains(err.Error(), "invalid") {
			return nil, false // refused by the client: invalid method, header or URL
		}
		return &response{Err: err, Took: time.Since(begin)}, true
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err, Took: time.Since(begin), Close: resp.Close}, true
}

func checkRandomAnswer(t *testing.T, rq randomReq, r *response) {
	t.Helper()
	if !expect(t, r.Err == nil, "%s: no answer: %v", rq, r.Err) {
		return
	}
	expect(t, r.Status < 500, "%s: %s", rq, r)
	if r.Status < 400 || rq.method == http.MethodHead {
		return
	}
	if fromNetHTTP(r) {
		return
	}
	_, err := problemOf(r)
	expect(t, err == nil, "%s: %d answer is not a problem document: %v: %q", rq, r.Status, err, r.Body)
}

// ---------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------

var (
	randomMethods = []string{"GET", "GET", "GET", "POST", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FOO", "get"}
	randomPaths   = []string{"/orders", "/orders/{id}", "/orders/{id}/lines", "/orders/{id}/confirm", "/orders/{id}/cancel",
		"/orders/{id}/events", "/healthz", "/readyz", "/openapi.yaml", "/", "/orders/", "/orders/not-a-uuid", "/orders/{id}/%00",
		"/orders/%00", "/%2e%2e/orders", "/orders/{id}/lines/extra", "/ORDERS", "//orders", "/orders/00000000-0000-0000-0000-000000000000",
		"/orders/{id}%2Flines", "/orders/{id}/lines%00", "/orders/%7Bid%7D", "/orders/{id};x=1/lines", "/orders/{id}/../{id}/confirm",
		"/orders/%F0%9F%98%80", "/orders/%ff%fe", "/orders/{id}/events?", "/orders/" + strings.Repeat("a", 3000)}
	randomParams = []string{"version", "at", "limit", "cursor", "status", "customer_id", "id", "version", "at", "limit"}
	randomValues = []string{"", "1", "0", "-1", "2", "100", "101", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
		"1e309", "NaN", "1.5", "abc", "%00", "%ff", "%F0%9F%98%80", "pending", "confirmed", "cancelled", "PENDING", "2025-01-15T10:31:00Z",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2025-13-45T99:99:99Z", "2025-01-15T10:31:00+99:00", "1736937060",
		"eyJwIjoiMjAyNS0wMS0xNVQxMDozMDowMFoiLCJpIjoiNWYyYyJ9", "eyJ", "%22%22", strings.Repeat("x", 5000), "a%26b%3Dc", "+", "%20"}
	randomHeaders = map[string][]string{
		"If-Match":         {`"1"`, `"2"`, `*`, `W/"1"`, `"0"`, `"-1"`, `"99999999999999999999"`, `""`, `"`, `1`, `"1", "2"`, `"😀"`, strings.Repeat(`"1"`, 100)},
		"If-None-Match":    {`"1"`, `*`, `W/"1"`, `"1", "2"`, `,,,`, `"`, strings.Repeat(`"9",`, 300)},
		"Idempotency-Key":  {"k1", "k2", "k1", " ", "ключ", strings.Repeat("k", 256), "a\tb", "\x7e\x21"},
		"X-Correlation-ID": {"c1", "😀", "\xff\xfe", strings.Repeat("c", 129), "a\tb", "\u202Eevil"},
		"X-Request-ID":     {"r1", "../../etc/passwd", "\xff", strings.Repeat("r", 200), "id with spaces"},
		"Content-Type":     {"application/json", "application/json", "application/json; charset=utf-8", "application/problem+json", "text/plain", "application/json; charset=utf-16", "", "application/vnd.x+json", "multipart/form-data; boundary=x", ";;;", "application/json; charset=\"", "APPLICATION/JSON"},
		"Accept":           {"application/json", "text/html", "*/*", ""},
		"Content-Encoding": {"gzip", "identity", "br"},
		"Expect":           {"100-continue"},
	}
	randomBodies = []string{
		`{"customer_id":"c","currency":"EUR"}`,
		`{"id":"{id}","customer_id":"c","currency":"EUR"}`,
		`{"id":"00000000-0000-0000-0000-000000000000","customer_id":"c","currency":"EUR"}`,
		`{"sku":"s","quantity":1,"unit_price_cents":100}`,
		`{"sku":"s","quantity":1000,"unit_price_cents":100000000}`,
		`{"sku":"s","quantity":1001,"unit_price_cents":100000001}`,
		`{"sku":"s","quantity":1e400,"unit_price_cents":-0}`,
		`{"sku":"s","quantity":1.5,"unit_price_cents":12345678901234567890123}`,
		`{"sku":"s","quantity":-9223372036854775809,"unit_price_cents":9223372036854775808}`,
		`{"sku":"s","quantity":"1","unit_price_cents":null}`,
		`{"reason":"r"}`, `{"reason":null}`, `{}`, `null`, `[]`, `"str"`, `1`, `true`, ``, ` `,
		`{"reason":"r"} {"reason":"r"}`, `{"reason":"r"`, `{"reason":"\u0000"}`, `{"reason":"\ud800"}`,
		"{\"customer_id\":\"\xff\",\"currency\":\"EUR\"}", "\xef\xbb\xbf{\"customer_id\":\"c\",\"currency\":\"EUR\"}",
		`{"customer_id":"c","currency":"EUR","customer_id":"d"}`, `{"CUSTOMER_ID":"c","Currency":"EUR"}`,
		`{"customer_id":"c","currency":"EUR","extra":{"a":[1,2,{"b":null}]}}`,
		"\x00{\"a\":1}", "{\"a\":\"\x00\"}",
		`{"sku":{"$gt":""},"quantity":1,"unit_price_cents":1}`,
		`{"sku":"'; DROP TABLE events; --","quantity":1,"unit_price_cents":1}`,
	}
)

func randomRequest(rng *rand.Rand, ids []string) randomReq {
	rq := randomReq{method: randomMethods[rng.IntN(len(randomMethods))]}
	id := ids[rng.IntN(len(ids))]
	path := strings.ReplaceAll(randomPaths[rng.IntN(len(randomPaths))], "{id}", id)
	if rng.IntN(8) == 0 {
		path += junkPath(rng)
	}
	var q []string
	for i := rng.IntN(4); i > 0; i-- {
		q = append(q, randomParams[rng.IntN(len(randomParams))]+"="+randomValues[rng.IntN(len(randomValues))])
	}
	if strings.HasPrefix(path, "//") {
		// A target starting with "//" is sent as an absolute URL naming another host,
		// which net/http refuses (and resets the connection while the body is sent).
		path = "/%2F" + path[2:]
	}
	rq.target = path
	if len(q) > 0 {
		rq.target += "?" + strings.Join(q, "&")
	}
	for name, values := range randomHeaders {
		if rng.IntN(4) == 0 {
			rq.headers = append(rq.headers, [2]string{name, values[rng.IntN(len(values))]})
		}
	}
	if rq.method == "POST" || rng.IntN(6) == 0 {
		rq.body = randomBody(rng, id)
		rq.chunked = rng.IntN(4) == 0
		if !hasHeader(rq.headers, "Content-Type") && rng.IntN(5) > 0 {
			rq.headers = append(rq.headers, [2]string{"Content-Type", "application/json"})
		}
	}
	return rq
}

func hasHeader(h [][2]string, name string) bool {
	for _, kv := range h {
		if kv[0] == name {
			return true
		}
	}
	return false
}

func junkPath(rng *rand.Rand) string {
	var b strings.Builder
	for i := rng.IntN(6); i >= 0; i-- {
		switch rng.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "%%%02X", rng.IntN(256))
		case 1:
			b.WriteString("/")
		case 2:
			b.WriteString(string(rune(0x80 + rng.IntN(0x2000)))) //nolint:gosec // below 0x2080
		default:
			b.WriteByte(byte('a' + rng.IntN(26))) //nolint:gosec // at most 'z'
		}
	}
	return b.String()
}

func randomBody(rng *rand.Rand, id string) []byte {
	switch rng.IntN(10) {
	case 0: // deep nesting, within the body limit
		depth := 1 + rng.IntN(hostileBodyLimit/2-10)
		if rng.IntN(2) == 0 {
			return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		}
		return []byte(`{"sku":` + strings.Repeat(`{"a":`, depth/6) + "1" + strings.Repeat("}", depth/6) + `,"quantity":1,"unit_price_cents":1}`)
	case 1: // a long string
		return []byte(`{"customer_id":"` + strings.Repeat("é", rng.IntN(hostileBodyLimit/2)) + `","currency":"EUR"}`)
	case 2: // random bytes
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.IntN(256)) //nolint:gosec // IntN(256) fits a byte
		}
		return b
	}
	b := []byte(strings.ReplaceAll(randomBodies[rng.IntN(len(randomBodies))], "{id}", id))
	for i := rng.IntN(4); i > 0 && len(b) > 0; i-- {
		p := rng.IntN(len(b))
		switch rng.IntN(4) {
		case 0:
			b[p] = byte(rng.IntN(256)) //nolint:gosec // IntN(256) fits a byte
		case 1:
			b = append(b[:p], b[p+1:]...)
		case 2:
			tokens := []string{`"`, `\`, `\u0000`, `\ud800`, "\xff", "\x00", `{`, `}`, `[`, `,`, `:`, `1e999`, `-`, `null`, `😀`}
			b = append(b[:p], append([]byte(tokens[rng.IntN(len(tokens))]), b[p:]...)...)
		default:
			b = append(b, b[p:]...)
		}
	}
	return b
}
