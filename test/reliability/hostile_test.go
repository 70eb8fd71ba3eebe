package reliability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/orders/test/pgtest"
)

// hostile limits: a small body limit, and REQUEST_TIMEOUT=1s so that the server's
// ReadTimeout (REQUEST_TIMEOUT + 5s) is 6s; ReadHeaderTimeout is 5s.
const (
	hostileBodyLimit   = 4096
	readHeaderTimeout  = 5 * time.Second
	hostileReadTimeout = 6 * time.Second
	timeoutSlack       = 3 * time.Second // noisy machines
)

// TestHostileInput sends what a careless or malicious client sends: bodies over the
// limit (declared, chunked, endless), requests that never finish, odd Unicode in every
// string field, and random requests. The service must answer 413 for bodies over the
// limit, cut slow clients off by its timeouts, store text byte for byte or reject it
// with 400, never answer 5xx, and leave the database consistent.
func TestHostileInput(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	svc := startServices(t, 1, dbURL, map[string]string{"BODY_LIMIT_BYTES": strconv.Itoa(hostileBodyLimit), "REQUEST_TIMEOUT": "1s"})[0]
	// The slow clients take seconds of waiting: they run while the rest goes on.
	slow := startSlowClients(svc.addr)
	t.Run("oversized bodies", func(t *testing.T) { testOversizedBodies(t, svc) })
	t.Run("odd unicode", func(t *testing.T) { testOddUnicode(t, svc) })
	t.Run("random requests", func(t *testing.T) { testRandomRequests(t, svc) })
	t.Run("slow clients", func(t *testing.T) { slow.check(t) })
	// Still serving, and nothing of it broke the data.
	r := mustSend(t, http.MethodPost, svc.URL+"/orders", []byte(`{"customer_id":"after","currency":"EUR"}`))
	expect(t, r.Status == http.StatusCreated, "after the hostile input: %s", r)
	checkAll(t, dbURL, []*service{svc})
}

// ---------------------------------------------------------------------------
// Oversized bodies
// ---------------------------------------------------------------------------

func testOversizedBodies(t *testing.T, svc *service) {
	// An order that could be confirmed: a body over the limit must stop that, too.
	id := placeOrder(t, svc, "oversize")
	if r := mustSend(t, http.MethodPost, svc.URL+"/orders/"+id+"/lines", []byte(`{"sku":"s","quantity":1,"unit_price_cents":1}`)); r.Status != http.StatusOK {
		t.Fatalf("add line: %s", r)
	}
	over := padJSON(`{"customer_id":"big","currency":"EUR","x":"`, `"}`, hostileBodyLimit+1)
	exact := padJSON(`{"customer_id":"exact","currency":"EUR"`, `}`, hostileBodyLimit)
	for _, path := range []string{"/orders", "/orders/" + id + "/lines", "/orders/" + id + "/confirm", "/orders/" + id + "/cancel"} {
		for _, chunked := range []bool{false, true} {
			where := fmt.Sprintf("POST %s with %d bytes (chunked %v)", path, len(over), chunked)
			r := sendBody(t, svc.URL+path, over, chunked)
			stats.inputs.Add(1)
			code := checkAnswer(t, where, r)
			if strings.HasSuffix(path, "/confirm") { // takes no body, so reads none: any content is refused
				expect(t, r.Status == http.StatusBadRequest && code == "validation_failed", "%s: %s, want 400 validation_failed", where, r)
				continue
			}
			expect(t, r.Status == http.StatusRequestEntityTooLarge && code == "payload_too_large", "%s: %s, want 413 payload_too_large", where, r)
		}
	}
	// Nothing of it happened.
	if o := getOrder(t, svc.URL+"/orders/"+id); o != nil {
		expect(t, o.Version == 2 && o.Status == "pending", "after requests over the body limit only, the order is at version %d, %s; want 2, pending", o.Version, o.Status)
	}
	for _, chunked := range []bool{false, true} {
		r := sendBody(t, svc.URL+"/orders", exact, chunked)
		stats.inputs.Add(1)
		expect(t, r.Status == http.StatusCreated, "POST /orders with exactly the limit (%d bytes, chunked %v): %s", len(exact), chunked, r)
	}

	// A huge declared length is refused before anything is read.
	head := "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1099511627776\r\n\r\n"
	status, took, err := rawStatus(svc.addr, head, nil, 5*time.Second)
	stats.inputs.Add(1)
	expect(t, err == nil && status == http.StatusRequestEntityTooLarge, "Content-Length 1 TiB without a body: status %d after %v (%v), want 413 at once", status, took, err)

	// An endless chunked body is cut off at the limit.
	head = "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 1024, strings.Repeat(" ", 1024)))
	status, took, err = rawStatus(svc.addr, head, chunk, 5*time.Second)
	stats.inputs.Add(1)
	expect(t, err == nil && status == http.StatusRequestEntityTooLarge, "endless chunked body: status %d after %v (%v), want 413", status, took, err)
}

// padJSON returns prefix + spaces + suffix of exactly n bytes.
func padJSON(prefix, suffix string, n int) []byte {
	return []byte(prefix + strings.Repeat(" ", n-len(prefix)-len(suffix)) + suffix)
}

// sendBody posts body as JSON, with Content-Length or chunked.
func sendBody(t *testing.T, url string, body []byte, chunked bool) *response {
	t.Helper()
	stats.requests.Add(1)
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length: net/http sends it chunked
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if chunked {
		req.ContentLength = -1
	}
	begin := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		return &response{Err: err, Took: time.Since(begin)}
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err, Took: time.Since(begin), Close: resp.Close}
}

// rawStatus writes head, then body repeatedly (if any) until the server answers or
// closes, and returns the answer's status code.
func rawStatus(addr, head string, body []byte, within time.Duration) (int, time.Duration, error) {
	stats.requests.Add(1)
	begin := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(within))
	if _, err := io.WriteString(conn, head); err != nil {
		return 0, time.Since(begin), err
	}
	if body != nil {
		go func() {
			for i := 0; i < 100000; i++ { // at most ~100 MB
				if _, err := conn.Write(body); err != nil {
					return
				}
			}
		}()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, time.Since(begin), err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, time.Since(begin), nil
}

func placeOrder(t *testing.T, svc *service, customer string) string {
	t.Helper()
	r := mustSend(t, http.MethodPost, svc.URL+"/orders", jsonBody(map[string]any{"customer_id": customer, "currency": "EUR"}))
	if r.Status != http.StatusCreated {
		t.Fatalf("place order: %s", r)
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &o); err != nil {
		t.Fatalf("place order: %v", err)
	}
	return o.ID
}

// ---------------------------------------------------------------------------
// Slow clients
// ---------------------------------------------------------------------------

type slowClient struct {
	name  string
	bound time.Duration // the server must have closed the connection by then
	took  time.Duration
	got   []byte // what the server sent before closing
	err   error  // how the connection ended (nil: EOF)
}

type slowClients struct {
	wg      sync.WaitGroup
	clients []*slowClient
}

// startSlowClients opens connections that send too slowly, each in a goroutine.
func startSlowClients(addr string) *slowClients {
	s := &slowClients{}
	second := time.Second
	for _, c := range []struct {
		name  string
		steps []step
		bound time.Duration
	}{
		{"connects and sends nothing", nil, readHeaderTimeout + timeoutSlack},
		{"sends half the headers, then one byte a second",
			append([]step{{0, "POST /orders HTTP/1.1\r\nHost: x\r\n"}}, trickle("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", second)...),
			readHeaderTimeout + timeoutSlack},
		// The headers take 2s, so that the server's write deadline (WriteTimeout from the
		// end of the headers) is still ahead when the body's read deadline (ReadTimeout
		// from the first byte) passes: the server answers, and what it says is checked.
		{"sends the headers in 2s, then the body one byte a second",
			append([]step{
				{0, "POST /orders HTTP/1.1\r\nHost: x\r\n"},
				{2 * second, "Content-Type: application/json\r\nContent-Length: 40\r\n\r\n"},
			}, trickle(`{"customer_id":"slow","currency":"EUR"}`, second)...),
			hostileReadTimeout + timeoutSlack},
	} {
		sc := &slowClient{name: c.name, bound: c.bound}
		s.clients = append(s.clients, sc)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sc.run(addr, c.steps)
		}()
	}
	return s
}

// step is a write after a pause.
type step struct {
	wait time.Duration
	data string
}

func trickle(data string, every time.Duration) []step {
	steps := make([]step, len(data))
	for i := range data {
		steps[i] = step{every, data[i : i+1]}
	}
	return steps
}

func (sc *slowClient) run(addr string, steps []step) {
	stats.requests.Add(1)
	stats.inputs.Add(1)
	begin := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		sc.err = err
		return
	}
	defer func() { _ = conn.Close() }()
	// Give up well after the bound: a server that never closes fails the check.
	_ = conn.SetReadDeadline(begin.Add(sc.bound + 10*time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf bytes.Buffer
		_, err := io.Copy(&buf, conn)
		sc.took, sc.got, sc.err = time.Since(begin), buf.Bytes(), err
	}()
	for _, st := range steps {
		select {
		case <-done:
			return
		case <-time.After(st.wait):
			if _, err := io.WriteString(conn, st.data); err != nil {
				<-done
				return
			}
		}
	}
	<-done
}

func (s *slowClients) check(t *testing.T) {
	s.wg.Wait()
	for _, c := range s.clients {
		var netErr net.Error
		timedOut := errors.As(c.err, &netErr) && netErr.Timeout()
		expect(t, !timedOut && c.took < c.bound, "slow client that %s: connection still open after %v (want closed within %v; read: %v)", c.name, c.took, c.bound, c.err)
		if len(c.got) > 0 {
			// An answer before closing is fine, but not a success and not a 5xx.
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(c.got)), nil)
			if expect(t, err == nil, "slow client that %s: the server sent something that is not HTTP: %q", c.name, c.got) {
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close() // reads from memory
				r := &response{Status: resp.StatusCode, Header: resp.Header, Body: body, Close: resp.Close}
				expect(t, resp.StatusCode >= 400, "slow client that %s: answered %s", c.name, r)
				if !fromNetHTTP(r) {
					checkAnswer(t, "slow client that "+c.name, r)
					checkNoLeak(t, "slow client that "+c.name, body)
				}
				t.Logf("slow client that %s: closed after %v with %s", c.name, c.took.Round(time.Millisecond), r)
				continue
			}
		}
		t.Logf("slow client that %s: closed after %v without an answer (%v)", c.name, c.took.Round(time.Millisecond), c.err)
	}
}
