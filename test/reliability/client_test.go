package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/test/testsupport"
)

// httpClient is shared by all clients of a test run; keep-alive connections to a
// killed replica fail and count as a lost answer, as they would behind a balancer.
// Authentication is on: a request without a token is sent with a staff token
// (testsupport.Bearer).
var httpClient = &http.Client{
	Transport: testsupport.Bearer{Base: &http.Transport{
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}},
	Timeout: 30 * time.Second,
}

// checkedClient is httpClient behind the contract check (testsupport.Contract): the
// functional checks' reads (mustSendChecked) are validated against openapi.yaml. The
// load and fault runs stay on httpClient, where a transport error means a lost
// answer.
var checkedClient = &http.Client{Transport: testsupport.MustContract(httpClient.Transport), Timeout: 30 * time.Second}

// response is a fully read answer, or the error that stood for it.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error
	Took   time.Duration
	Close  bool // the server said Connection: close
}

func (r *response) String() string {
	if r.Err != nil {
		return "error: " + r.Err.Error()
	}
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// send sends one request; headers are name/value pairs. A body gets Content-Type
// application/json unless the headers name one.
func send(ctx context.Context, method, url string, body []byte, headers ...string) *response {
	return sendWith(ctx, httpClient, method, url, body, headers...)
}

func sendWith(ctx context.Context, client *http.Client, method, url string, body []byte, headers ...string) *response {
	stats.requests.Add(1)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return &response{Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	begin := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return &response{Err: err, Took: time.Since(begin)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err, Took: time.Since(begin), Close: resp.Close}
	if err != nil {
		r.Status = 0
	}
	return r
}

// mustSend is send from the test goroutine, failing the test on a transport error.
func mustSend(t testing.TB, method, url string, body []byte, headers ...string) *response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := send(ctx, method, url, body, headers...)
	if r.Err != nil {
		t.Fatalf("%s %s: %v", method, url, r.Err)
	}
	return r
}

// mustSendChecked is mustSend through the contract check.
func mustSendChecked(t testing.TB, method, url string, body []byte, headers ...string) *response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := sendWith(ctx, checkedClient, method, url, body, headers...)
	if r.Err != nil {
		t.Fatalf("%s %s: %v", method, url, r.Err)
	}
	return r
}

// problemOf decodes a problem document, or says why r is not one.
func problemOf(r *response) (api.Problem, error) {
	var p api.Problem
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/problem+json" {
		return p, fmt.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var raw map[string]any
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		return p, fmt.Errorf("body is not a JSON object: %v", err)
	}
	for _, f := range []string{"type", "title", "detail"} {
		if s, ok := raw[f].(string); !ok || s == "" {
			return p, fmt.Errorf("problem member %q missing or empty", f)
		}
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return p, err
	}
	if p.Status != r.Status {
		return p, fmt.Errorf("problem status %d, HTTP status %d", p.Status, r.Status)
	}
	return p, nil
}

// checkAnswer holds every answer to the rules all of them follow: no 5xx but 503; every
// error a problem document; a 503 says when to retry. It returns the problem code.
func checkAnswer(t testing.TB, where string, r *response) (code string) {
	t.Helper()
	if r.Err != nil {
		return ""
	}
	expect(t, r.Status < 500 || r.Status == http.StatusServiceUnavailable, "%s: status %d: %s", where, r.Status, bytes.TrimSpace(r.Body))
	if r.Status < 400 {
		return ""
	}
	p, err := problemOf(r)
	if !expect(t, err == nil, "%s: %d answer is not a problem document: %v: %q", where, r.Status, err, r.Body) {
		return ""
	}
	if p.Code != nil {
		code = *p.Code
	}
	if r.Status == http.StatusServiceUnavailable {
		ra := r.Header.Get("Retry-After")
		n, err := strconv.Atoi(ra)
		expect(t, err == nil && n >= 0, "%s: 503 with Retry-After %q, want seconds", where, ra)
	}
	return code
}

// fromNetHTTP reports whether r is net/http's own answer to a request it could not
// parse (400, 431, 505, ...), sent before the service saw anything.
func fromNetHTTP(r *response) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Status >= 400 && r.Close && mt == "text/plain" && bytes.HasPrefix(r.Body, []byte(strconv.Itoa(r.Status)+" "))
}

// leaks are words an answer must never contain: they would mean that an internal
// error's text (a stack, a driver message, a socket address) reached the client.
var leaks = []string{"goroutine ", "sqlstate", "pgx", "pgconn", ".go:", "runtime error", "127.0.0.1", "i/o timeout", "broken pipe"}

func checkNoLeak(t testing.TB, where string, body []byte) {
	t.Helper()
	lower := strings.ToLower(string(body))
	for _, w := range leaks {
		expect(t, !strings.Contains(lower, w), "%s: answer contains %q: %s", where, w, body)
	}
}

func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
