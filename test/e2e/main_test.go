// Package e2e drives the real `orders serve` binary over HTTP, as a client would:
// every test starts its own server process on its own freshly migrated database
// (test/pgtest) and talks to it with the generated client or with plain net/http
// where headers and raw bodies matter.
//
// Run it with
//
//	TESTCONTAINERS_RYUK_DISABLED=true POSTGRES_IMAGE=orders-postgres:15-debian go test -race -count=1 ./test/e2e/
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// binPath is the orders binary built once by TestMain; moduleRoot is where go.mod is.
var (
	binPath    string
	moduleRoot string
)

func TestMain(m *testing.M) {
	var err error
	moduleRoot, err = testsupport.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binPath, err = testsupport.BuildService(moduleRoot)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	pgtest.Main(m)
}

// ---------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------

// server is one running `orders serve` process.
type server struct {
	URL  string
	out  *testsupport.SyncBuffer
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, after done

	stopped bool // the test stopped it already (stop checked it then)
}

// startServer starts the service on a fresh database and returns its base URL.
func startServer(t *testing.T, env map[string]string) string {
	t.Helper()
	return startServerOn(t, pgtest.NewDatabase(t), env).URL
}

// startServerOn starts `orders serve --migrate` against dbURL on a free loopback port
// and waits until GET /readyz answers 200. When the test ends the process gets
// SIGTERM and must exit with status 0 in time (graceful shutdown); its output is
// logged if the test failed.
func startServerOn(t *testing.T, dbURL string, env map[string]string) *server {
	t.Helper()
	return startProcess(t, dbURL, env, []string{"serve", "--migrate"}, "/readyz")
}

// startProcess starts the binary with args and waits until GET waitPath answers 200.
func startProcess(t *testing.T, dbURL string, env map[string]string, args []string, waitPath string) *server {
	t.Helper()
	const attempts = 3 // the free port may be taken between choosing and binding it
	begin := time.Now()
	for attempt := 1; ; attempt++ {
		s, retry, err := launch(dbURL, env, args, waitPath)
		if err == nil {
			t.Logf("server %s up in %v", s.URL, time.Since(begin).Round(time.Millisecond))
			t.Cleanup(func() {
				s.stop(t)
				if t.Failed() {
					t.Logf("server output (%s):\n%s", s.URL, s.out.String())
				}
			})
			return s
		}
		if !retry || attempt == attempts {
			t.Fatalf("start server: %v", err)
		}
	}
}

func launch(dbURL string, env map[string]string, args []string, waitPath string) (s *server, retry bool, err error) {
	port, err := freePort()
	if err != nil {
		return nil, false, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if a := env["LISTEN_ADDR"]; a != "" { // a restart on the same address
		addr = a
	}
	// Authentication on, the service connected as the application role, migrations
	// as the owner: as in production.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vars, err := testsupport.ServiceEnv(ctx, dbURL)
	if err != nil {
		return nil, false, err
	}
	// The asynchronous consumers are off unless a test turns them on (RUN_CONSUMERS=true):
	// a reactor's commands would add to the streams other tests count.
	for k, v := range map[string]string{"LISTEN_ADDR": addr, "LOG_LEVEL": "info", "SHUTDOWN_TIMEOUT": "10s", "DB_MAX_CONNS": "10", "RUN_CONSUMERS": "false"} {
		vars[k] = v
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(binPath, args...)
	cmd.Env = serverEnv(vars)
	s = &server{URL: "http://" + addr, out: &testsupport.SyncBuffer{}, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, false, err
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()

	deadline := time.Now().Add(20 * time.Second)
	probe := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.done:
			out := s.out.String()
			return nil, strings.Contains(out, "address already in use"),
				fmt.Errorf("server exited before it was ready (%w); output:\n%s", s.err, out)
		default:
		}
		resp, err := probe.Get(s.URL + waitPath)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, false, nil
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-s.done
			return nil, false, fmt.Errorf("GET %s not 200 within 20s; output:\n%s", waitPath, s.out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// serverEnv is this process's environment without any of the service's own settings,
// plus vars.
func serverEnv(vars map[string]string) []string {
	own := map[string]bool{"DATABASE_URL": true, "LISTEN_ADDR": true, "LOG_LEVEL": true, "DB_MAX_CONNS": true,
		"REQUEST_TIMEOUT": true, "SHUTDOWN_TIMEOUT": true, "BODY_LIMIT_BYTES": true, "IDEMPOTENCY_RETENTION": true,
		"COMMAND_ATTEMPTS": true, "MIGRATE_ON_START": true, "MIGRATE_DATABASE_URL": true, "APP_DB_ROLE": true,
		"AUTH_MODE": true, "AUTH_JWKS_URL": true, "AUTH_PUBLIC_KEY_FILE": true, "AUTH_HS256_SECRET": true,
		"AUTH_ISSUER": true, "AUTH_AUDIENCE": true, "AUTH_LEEWAY": true, "CORS_ALLOWED_ORIGINS": true, "RUN_CONSUMERS": true,
		"PII_KEK": true, "PII_KEK_FILE": true, "PII_KEK_PREVIOUS": true, "PII_KEK_PREVIOUS_FILE": true}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !own[k] {
			out = append(out, kv)
		}
	}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// stop sends SIGTERM and waits for a clean exit; a process that does not stop in time
// is killed and the test fails.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	select {
	case <-s.done:
		t.Errorf("server %s had exited before the test ended: %v", s.URL, s.err)
		return
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM to server: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("server %s did not exit within 15s of SIGTERM", s.URL)
		return
	}
	if s.err != nil {
		t.Errorf("server %s did not exit cleanly after SIGTERM: %v", s.URL, s.err)
	}
	if out := s.out.String(); !strings.Contains(out, `"msg":"stopped"`) {
		t.Errorf("server %s did not log a graceful stop", s.URL)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ---------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------

// httpClient checks every request and response against openapi.yaml
// (testsupport.Contract): the generated client and the plain helpers share it. A
// request without Authorization is sent with a staff token (bearer), so tests that
// are not about authorization act as staff; noAuth sends none.
var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: bearer{testsupport.MustContract(nil)}}

// noAuthHeader marks a request to be sent without a token; bearer removes it.
const noAuthHeader = "X-Test-No-Auth"

var noAuth = []string{noAuthHeader, "1"}

// staffToken is the default token of every request.
var staffToken = testsupport.StaffToken()

type bearer struct{ base http.RoundTripper }

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get(noAuthHeader) != "" {
		req = req.Clone(req.Context())
		req.Header.Del(noAuthHeader)
	} else if req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+staffToken)
	}
	return b.base.RoundTrip(req)
}

// as is the header pair that sends a token of sub with scope.
func as(sub, scope string) []string {
	return []string{"Authorization", "Bearer " + testsupport.Token(sub, scope)}
}

// invalid and rule mark a request for the contract check (see testsupport.Contract):
// pass them as a header pair to do, or as a request editor to the generated client.
var (
	invalid = []string{testsupport.ContractHeader, testsupport.ExpectInvalid}
	rule    = []string{testsupport.ContractHeader, testsupport.ExpectRule}
)

func newClient(t *testing.T, base string) *api.ClientWithResponses {
	t.Helper()
	c, err := api.NewClientWithResponses(base, api.WithHTTPClient(httpClient))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// response is a fully read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.Status, r.Body)
}

// do sends a request with a string body (none if empty). headers are name/value
// pairs; a non-empty body gets Content-Type application/json unless one is given.
// It must be called from the test's goroutine; others use tryDo.
func do(t testing.TB, method, url, body string, headers ...string) *response {
	t.Helper()
	r, err := tryDo(method, url, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryDo is do for any goroutine.
func tryDo(method, url, body string, headers ...string) (*response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(headers)%2 != 0 {
		return nil, fmt.Errorf("do: odd header list %q", headers)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1]) //nolint:gosec // even length checked above
	}
	return trySend(req)
}

func send(t testing.TB, req *http.Request) *response {
	t.Helper()
	r, err := trySend(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func trySend(req *http.Request) (*response, error) {
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

func withHeader(name, value string) api.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set(name, value)
		return nil
	}
}

// leakWords must never appear in a response: they would mean an internal error's text
// (a stack, a driver message) reached the client.
var leakWords = []string{"panic", "goroutine", "sqlstate", "pgx", "pgconn", ".go:", "runtime error", "postgres"}

func checkNoLeak(t testing.TB, where string, body []byte) {
	t.Helper()
	lower := strings.ToLower(string(body))
	for _, w := range leakWords {
		if strings.Contains(lower, w) {
			t.Errorf("%s: response body contains %q: %s", where, w, body)
		}
	}
}

// checkProblem asserts that r is an RFC 9457 problem with the given status (and code,
// unless empty) and returns it.
func checkProblem(t testing.TB, where string, r *response, status int, code string) api.Problem {
	t.Helper()
	var p api.Problem
	if r.Status != status {
		t.Errorf("%s: status %d, want %d; body %s", where, r.Status, status, r.Body)
	}
	checkNoLeak(t, where, r.Body)
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", where, ct)
		return p
	}
	var raw map[string]any
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Errorf("%s: problem body is not a JSON object: %v: %s", where, err, r.Body)
		return p
	}
	for _, f := range []string{"type", "title", "detail"} {
		if s, ok := raw[f].(string); !ok || s == "" {
			t.Errorf("%s: problem member %q missing or empty: %s", where, f, r.Body)
		}
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Errorf("%s: problem body: %v", where, err)
	}
	if p.Status != r.Status {
		t.Errorf("%s: problem status %d but HTTP status %d", where, p.Status, r.Status)
	}
	if code != "" && (p.Code == nil || *p.Code != code) {
		t.Errorf("%s: problem code %v, want %q: %s", where, deref(p.Code), code, r.Body)
	}
	return p
}

// checkFields asserts that a validation problem names (at least) the given fields.
func checkFields(t testing.TB, where string, p api.Problem, fields ...string) {
	t.Helper()
	got := map[string]bool{}
	if p.Errors != nil {
		for _, e := range *p.Errors {
			got[e.Field] = true
			if e.Message == "" {
				t.Errorf("%s: field error %q without a message", where, e.Field)
			}
		}
	}
	for _, f := range fields {
		if !got[f] {
			t.Errorf("%s: errors do not name field %q: %+v", where, f, derefErrors(p.Errors))
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func derefErrors(e *[]api.FieldError) []api.FieldError {
	if e == nil {
		return nil
	}
	return *e
}

func decode[T any](t testing.TB, where string, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: decode %T: %v: %s", where, v, err, body)
	}
	return v
}

// ---------------------------------------------------------------------------
// Domain helpers
// ---------------------------------------------------------------------------

// placeOrder places an order through the generated client and returns it.
func placeOrder(t testing.TB, c *api.ClientWithResponses, customer string) api.Order {
	t.Helper()
	r, err := c.PlaceOrderWithResponse(context.Background(), nil, api.PlaceOrderRequest{CustomerId: &customer, Currency: "EUR"})
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	if r.StatusCode() != http.StatusCreated || r.JSON201 == nil {
		t.Fatalf("place order: %d %s", r.StatusCode(), r.Body)
	}
	return *r.JSON201
}

// addLine adds a line through the generated client and returns the order.
func addLine(t testing.TB, c *api.ClientWithResponses, id uuid.UUID, sku string, qty int32, price int64) api.Order {
	t.Helper()
	r, err := c.AddOrderLineWithResponse(context.Background(), id, nil, api.AddLineRequest{Sku: sku, Quantity: qty, UnitPriceCents: price})
	if err != nil {
		t.Fatalf("add line: %v", err)
	}
	if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
		t.Fatalf("add line: %d %s", r.StatusCode(), r.Body)
	}
	return *r.JSON200
}

// confirmOrder confirms through the generated client and returns the order.
func confirmOrder(t testing.TB, c *api.ClientWithResponses, id uuid.UUID) api.Order {
	t.Helper()
	r, err := c.ConfirmOrderWithResponse(context.Background(), id, nil)
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
		t.Fatalf("confirm: %d %s", r.StatusCode(), r.Body)
	}
	return *r.JSON200
}

// cancelOrder cancels through the generated client and returns the order.
func cancelOrder(t testing.TB, c *api.ClientWithResponses, id uuid.UUID, reason string) api.Order {
	t.Helper()
	r, err := c.CancelOrderWithResponse(context.Background(), id, nil, api.CancelRequest{Reason: &reason})
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
		t.Fatalf("cancel: %d %s", r.StatusCode(), r.Body)
	}
	return *r.JSON200
}

// events returns the recorded events of an order, every page of them.
func events(t testing.TB, c *api.ClientWithResponses, id uuid.UUID) []api.StoredEvent {
	t.Helper()
	var all []api.StoredEvent
	params := &api.GetOrderEventsParams{}
	for {
		r, err := c.GetOrderEventsWithResponse(context.Background(), id, params)
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
			t.Fatalf("events: %d %s", r.StatusCode(), r.Body)
		}
		all = append(all, r.JSON200.Items...)
		if r.JSON200.NextAfter == nil {
			return all
		}
		params.After = r.JSON200.NextAfter
	}
}

// getOrder reads an order with plain HTTP.
func getOrder(t testing.TB, base string, id uuid.UUID) *response {
	t.Helper()
	return do(t, http.MethodGet, base+"/orders/"+id.String(), "")
}

// uniqueCustomer is a customer id no other test uses.
func uniqueCustomer(prefix string) string {
	return prefix + "-" + uuid.NewString()[:8]
}
