package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// TestPerStreamOrderUnderContention tries to break per-stream order end to end (issue
// 18): three instances of the binary on one database, each running the consumers (one
// owns each consumer, through its advisory lock), and many writers on four hot orders
// spread over the instances: plain POST /orders/{id}/lines (the losers of a race retry
// inside the service, locking the stream first), some with If-Match (412 when the
// order moved on), some with an Idempotency-Key (some keys sent again: a replay), and
// at the end confirms and a cancel racing late lines. An event stream (SSE) is open
// from before the first write. When the writers are done:
//
//  1. `orders verify` exits 0 (customer_summary equals the fold of the log, among the rest);
//  2. each customer's summary, read with min_position at the last command's position,
//     equals the fold of its order's own events (GET /orders/{id}/events): no line
//     lost, none counted twice;
//  3. the feed read page by page from position 0, and the event stream, deliver every
//     stream's versions exactly 1..n, in order, each once, and every event of the log.
//
// The answers are held against the orders' events too: every line answered 200 is
// there once, every one answered 409 or 412 absent, every replay identical to its
// original.
// And the fulfilment reactor shipped each confirmed order once (fulfilment_test.go). // example: shipment
//
// On the code before the fix of issue 18 (consumers reading in transaction order) it
// fails every time on a 2-core machine: customer_summary lost 5 to 23 of about 500
// confirmed lines, and `orders verify` exits 1 on most hot orders.
func TestPerStreamOrderUnderContention(t *testing.T) {
	t.Parallel()
	cfg := contentionConfig{instances: 3, orders: 4, writers: 24, duration: 4 * time.Second}
	runContention(t, cfg)
}

// contentionConfig sizes a run of runContention.
type contentionConfig struct {
	instances int
	orders    int           // hot orders, each of its own customer
	writers   int           // concurrent clients adding lines
	duration  time.Duration // how long they write
}

// hotOrder is one of the contended orders and what the writers learnt of it.
type hotOrder struct {
	id       uuid.UUID
	customer string

	mu       sync.Mutex
	version  int64           // highest version seen in an answer
	acked    map[string]bool // sku of a line answered 200 (not replayed)
	rejected map[string]int  // sku of a line answered 409 or 412 -> status
	unknown  map[string]bool // sku of a line without a definite answer
}

// idemRecord is a command sent with an Idempotency-Key that answered 200, to send
// again.
type idemRecord struct {
	key, path, body string
	status          int
	respBody        []byte
	position        string
}

// contention is the state of one run, shared by the writers.
type contention struct {
	t       *testing.T
	servers []*server
	orders  []*hotOrder
	prefix  string

	maxPos atomic.Int64 // highest X-Event-Position of any 2xx answer

	mu    sync.Mutex
	idem  []idemRecord
	count map[string]int // outcome -> count, for the log
}

func (c *contention) note(outcome string) {
	c.mu.Lock()
	c.count[outcome]++
	c.mu.Unlock()
}

// wrong412 records a 412 version_mismatch answered to a command sent without If-Match:
// such a command is retried by the service, so this is a failure (a keyed command that
// lost its optimistic attempt once stored it under its key).
func (c *contention) wrong412(keyed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count["412 without If-Match"]++
	if keyed {
		c.count["412 without If-Match, with a key"]++
	}
}

func (c *contention) position(r *response) {
	p, err := strconv.ParseInt(r.Header.Get("X-Event-Position"), 10, 64)
	if err != nil || p <= 0 {
		c.t.Errorf("a %d answer without a valid X-Event-Position (%q)", r.Status, r.Header.Get("X-Event-Position"))
		return
	}
	for {
		cur := c.maxPos.Load()
		if p <= cur || c.maxPos.CompareAndSwap(cur, p) {
			return
		}
	}
}

func (o *hotOrder) seen(v int64) {
	o.mu.Lock()
	o.version = max(o.version, v)
	o.mu.Unlock()
}

func runContention(t *testing.T, cfg contentionConfig) {
	begin := time.Now()
	db := pgtest.NewDatabase(t)
	env := map[string]string{"RUN_CONSUMERS": "true", "SSE_POLL": "200ms"}
	c := &contention{t: t, prefix: "so" + uuid.NewString()[:8], count: map[string]int{}}
	for range cfg.instances {
		c.servers = append(c.servers, startServerOn(t, db, env))
	}
	// Runs before the servers stop: a connection the client dialed but never used holds
	// up a server's graceful shutdown for 5 s (net/http treats a new connection as
	// active until then).
	t.Cleanup(func() {
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	})
	// The stream is open before the first event: it must deliver the whole log.
	stream := openStream(t, streamClient, c.servers[0].URL+"/events/stream", 0)

	for i := range cfg.orders {
		cust := fmt.Sprintf("%s-hot%d", c.prefix, i)
		o := placeOrder(t, newClient(t, c.servers[i%len(c.servers)].URL), cust)
		c.orders = append(c.orders, &hotOrder{id: o.Id, customer: cust, version: o.Version,
			acked: map[string]bool{}, rejected: map[string]int{}, unknown: map[string]bool{}})
	}

	// The writers.
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	writeBegin := time.Now()
	end := writeBegin.Add(cfg.duration)
	var wg sync.WaitGroup
	for w := range cfg.writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w))) //nolint:gosec // test input
			for n := 0; time.Now().Before(end); n++ {
				if !c.writeOne(rng, fmt.Sprintf("%s-w%d-%d", c.prefix, w, n)) {
					return
				}
			}
		})
	}
	wg.Wait()
	wrote := time.Since(writeBegin)

	// The end: confirms (one with a key, sent again), a cancel, late lines racing them.
	c.finish()
	t.Logf("%d instances, %d writers on %d orders for %v: %v", cfg.instances, cfg.writers, cfg.orders,
		wrote.Round(time.Millisecond), c.count)
	if n := c.count["412 without If-Match"]; n > 0 {
		t.Errorf("%d commands sent without If-Match were answered 412 version_mismatch", n)
	}

	// example: shipment begin
	// A last order, confirmed after every other command was answered: it comes after
	// all of them in the order the fulfilment reactor reads, so once its shipment
	// exists the reactor has handled everything before it.
	sentinel := c.sentinel()
	// example: shipment end
	last := c.maxPos.Load()
	// (2) customer_summary against the fold of each order's own events.
	cl := newClient(t, c.servers[0].URL)
	c.checkSummaries(cl, last)
	waitShipment(t, c.servers[1%len(c.servers)].URL, sentinel) // example: shipment
	c.checkShipments(cl)                                       // example: shipment
	// (1) verify, once the summaries say the consumer is past the last command.
	runVerifyE2E(t, db)
	// (3) the feed and the stream.
	checkFeedAndStream(t, c.servers[len(c.servers)-1].URL, db, stream)
	t.Logf("whole run %v", time.Since(begin).Round(time.Millisecond))
}

// maxLinesPerOrder keeps the hot orders below the domain's limit of lines per order
// (with room for the requests in flight) however fast the machine.
const maxLinesPerOrder = 600

// writeOne adds one line to a random hot order through a random instance: plain, with
// If-Match, with a new Idempotency-Key, or with a key sent before. It reports false
// when every hot order has its maxLinesPerOrder lines.
func (c *contention) writeOne(rng *rand.Rand, sku string) bool {
	t := c.t
	var o *hotOrder
	for _, i := range rng.Perm(len(c.orders)) {
		c.orders[i].mu.Lock()
		full := len(c.orders[i].acked)+len(c.orders[i].unknown) >= maxLinesPerOrder
		c.orders[i].mu.Unlock()
		if !full {
			o = c.orders[i]
			break
		}
	}
	if o == nil {
		return false
	}
	s := c.servers[rng.IntN(len(c.servers))]
	path := "/orders/" + o.id.String() + "/lines"
	body := fmt.Sprintf(`{"sku":%q,"quantity":1,"unit_price_cents":100}`, sku)
	var headers []string
	var ifMatch int64
	var key string
	switch x := rng.IntN(20); {
	case x < 3: // a key sent before, with the same request: the original answer again
		c.mu.Lock()
		if len(c.idem) == 0 {
			c.mu.Unlock()
			break
		}
		rec := c.idem[rng.IntN(len(c.idem))]
		c.mu.Unlock()
		// Through any instance: the key is the caller's, not the instance's.
		r, err := tryDo(http.MethodPost, s.URL+rec.path, rec.body, "Idempotency-Key", rec.key)
		switch {
		case err != nil:
			t.Errorf("replay of %s: %v", rec.key, err)
		case r.Status != rec.status || !bytes.Equal(r.Body, rec.respBody) || r.Header.Get("Idempotency-Replayed") != "true" ||
			r.Header.Get("X-Event-Position") != rec.position:
			t.Errorf("key %s sent again: %d (replayed %q, position %q) %s; the original: %d (position %q) %s", rec.key,
				r.Status, r.Header.Get("Idempotency-Replayed"), r.Header.Get("X-Event-Position"), r.Body, rec.status, rec.position, rec.respBody)
		default:
			c.note("replayed")
		}
		return true
	case x < 7:
		o.mu.Lock()
		ifMatch = o.version
		o.mu.Unlock()
		headers = append(headers, "If-Match", strconv.Quote(strconv.FormatInt(ifMatch, 10)))
	case x < 11:
		key = sku + "-key"
		headers = append(headers, "Idempotency-Key", key)
	}
	r, err := tryDo(http.MethodPost, s.URL+path, body, headers...)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err != nil {
		o.unknown[sku] = true
		c.note("no answer")
		return true
	}
	switch r.Status {
	case http.StatusOK:
		var got api.Order
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Errorf("add line: %v: %s", err, r.Body)
			return true
		}
		if ifMatch > 0 && got.Version != ifMatch+1 {
			t.Errorf("add line with If-Match %d answered version %d", ifMatch, got.Version)
		}
		o.version = max(o.version, got.Version)
		o.acked[sku] = true
		c.position(r)
		if key != "" {
			c.mu.Lock()
			c.idem = append(c.idem, idemRecord{key: key, path: path, body: body, status: r.Status, respBody: r.Body, position: r.Header.Get("X-Event-Position")})
			c.mu.Unlock()
		}
		c.note(map[bool]string{true: "200 (If-Match)", false: "200"}[ifMatch > 0])
	case http.StatusPreconditionFailed:
		checkProblem(t, "add line", r, http.StatusPreconditionFailed, "version_mismatch")
		o.rejected[sku] = r.Status
		if ifMatch == 0 {
			c.wrong412(key != "")
			return true
		}
		c.note("412 version_mismatch")
	case http.StatusConflict: // the retries ran out
		checkProblem(t, "add line", r, http.StatusConflict, "concurrency_conflict")
		o.rejected[sku] = r.Status
		c.note("409 concurrency_conflict")
	case http.StatusServiceUnavailable:
		o.unknown[sku] = true
		c.note("503")
	default:
		t.Errorf("add line: unexpected answer %s", r)
		o.unknown[sku] = true
	}
	return true
}

// finish ends every hot order but the last with confirms racing each other and a late
// line, the last with a confirm racing a cancel and a late line; then the keyed
// confirm is sent again, and must be replayed.
func (c *contention) finish() {
	t := c.t
	type keyed struct {
		url, key string
		first    *response
	}
	var mu sync.Mutex
	var keyedConfirms []keyed
	var wg sync.WaitGroup
	srv := func(i int) string { return c.servers[i%len(c.servers)].URL }
	for i, o := range c.orders {
		path := "/orders/" + o.id.String()
		last := i == len(c.orders)-1
		wg.Go(func() {
			key := fmt.Sprintf("%s-confirm%d", c.prefix, i)
			r, err := tryDo(http.MethodPost, srv(i)+path+"/confirm", "", "Idempotency-Key", key)
			c.endCommand(o, "confirm", true, r, err, last)
			if err == nil {
				mu.Lock()
				keyedConfirms = append(keyedConfirms, keyed{url: srv(i+1) + path + "/confirm", key: key, first: r})
				mu.Unlock()
			}
		})
		wg.Go(func() {
			if last {
				r, err := tryDo(http.MethodPost, srv(i+1)+path+"/cancel", `{"reason":"changed my mind"}`)
				c.endCommand(o, "cancel", false, r, err, false)
				return
			}
			r, err := tryDo(http.MethodPost, srv(i+1)+path+"/confirm", "")
			c.endCommand(o, "confirm", false, r, err, false)
		})
		wg.Go(func() {
			sku := fmt.Sprintf("%s-late%d", c.prefix, i)
			r, err := tryDo(http.MethodPost, srv(i+2)+path+"/lines", fmt.Sprintf(`{"sku":%q,"quantity":1,"unit_price_cents":100}`, sku))
			o.mu.Lock()
			defer o.mu.Unlock()
			switch {
			case err != nil:
				o.unknown[sku] = true
			case r.Status == http.StatusOK:
				o.acked[sku] = true
				c.position(r)
			case r.Status == http.StatusConflict:
				p := checkProblem(t, "late line", r, http.StatusConflict, "")
				if p.Code == nil || (*p.Code != "order_not_pending" && *p.Code != "concurrency_conflict") {
					t.Errorf("late line: %s", r)
				}
				o.rejected[sku] = r.Status
			default:
				t.Errorf("late line: unexpected answer %s", r)
				o.unknown[sku] = true
			}
		})
	}
	wg.Wait()
	for _, k := range keyedConfirms {
		r, err := tryDo(http.MethodPost, k.url, "", "Idempotency-Key", k.key)
		if err != nil {
			t.Errorf("confirm sent again: %v", err)
			continue
		}
		if r.Status != k.first.Status || !bytes.Equal(r.Body, k.first.Body) || r.Header.Get("Idempotency-Replayed") != "true" {
			t.Errorf("confirm with key %s sent again: %s (replayed %q); the original: %s", k.key, r, r.Header.Get("Idempotency-Replayed"), k.first)
		}
	}
}

// endCommand checks the answer of a confirm or cancel at the end: 200, or for a
// confirm racing a cancel (mayLose), 409 order_cancelled.
func (c *contention) endCommand(o *hotOrder, what string, keyed bool, r *response, err error, mayLose bool) {
	t := c.t
	switch {
	case err != nil:
		t.Errorf("%s %s: %v", what, o.id, err)
	case r.Status == http.StatusOK:
		c.position(r)
		var got api.Order
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Errorf("%s %s: %v: %s", what, o.id, err, r.Body)
			return
		}
		o.seen(got.Version)
	case mayLose && r.Status == http.StatusConflict:
		checkProblem(t, what, r, http.StatusConflict, "order_cancelled")
	case r.Status == http.StatusPreconditionFailed:
		c.wrong412(keyed)
	default:
		t.Errorf("%s %s: %s", what, o.id, r)
	}
}

// checkSummaries reads each hot order's events and holds them against the writers'
// answers, then reads its customer's summary at position last and compares it with
// the fold of the events.
func (c *contention) checkSummaries(cl *api.ClientWithResponses, last int64) {
	t := c.t
	var lines, lost, extra int64
	var bad []string
	for _, o := range c.orders {
		evs := events(t, cl, o.id)
		status, total, n := "pending", int64(0), int64(0)
		skus := map[string]int{}
		for i, e := range evs {
			if e.Version != int64(i+1) {
				t.Errorf("order %s: event %d has version %d", o.id, i, e.Version)
			}
			switch e.Type {
			case "OrderLineAdded":
				sku, _ := e.Data["sku"].(string)
				q, _ := e.Data["quantity"].(float64)
				p, _ := e.Data["unit_price_cents"].(float64)
				skus[sku]++
				total += int64(q) * int64(p)
				n++
			case "OrderConfirmed":
				status = "confirmed"
			case "OrderCancelled":
				status = "cancelled"
			}
		}
		for sku := range o.acked {
			if skus[sku] != 1 {
				t.Errorf("order %s: line %s was answered 200, and is in %d events", o.id, sku, skus[sku])
			}
		}
		for sku, st := range o.rejected {
			if skus[sku] != 0 {
				t.Errorf("order %s: line %s was answered %d, and is in %d events", o.id, sku, st, skus[sku])
			}
		}
		for sku, k := range skus {
			if k > 1 || (!o.acked[sku] && !o.unknown[sku]) {
				t.Errorf("order %s: line %s is in %d events (answered 200: %v)", o.id, sku, k, o.acked[sku])
			}
		}
		if last < 1 {
			t.Fatal("no command answered with a position")
		}
		sum := readSummary(t, c.servers[0].URL, o.customer, last)
		want := api.CustomerSummary{CustomerId: o.customer, OrdersPlaced: 1, ConfirmedTotals: map[string]int64{}}
		switch status {
		case "confirmed":
			want.OrdersConfirmed = 1
			want.ConfirmedTotals["EUR"] = total
			lines += n
			got := sum.ConfirmedTotals["EUR"]
			if got < total {
				lost += (total - got) / 100 // every line is 1 × 100 cents
			} else {
				extra += (got - total) / 100
			}
		case "cancelled":
			want.OrdersCancelled = 1
		}
		if sum.OrdersPlaced != want.OrdersPlaced || sum.OrdersConfirmed != want.OrdersConfirmed ||
			sum.OrdersCancelled != want.OrdersCancelled || !mapsEqual(sum.ConfirmedTotals, want.ConfirmedTotals) {
			bad = append(bad, fmt.Sprintf("customer %s (order %s, %d events, %d lines, %s): summary %+v, the fold of the events %+v",
				o.customer, o.id, len(evs), n, status, sum, want))
		}
		t.Logf("order %s: %d events, %d lines, %s, total %d; summary %+v", o.id, len(evs), n, status, total, sum)
	}
	if len(bad) > 0 || lost > 0 || extra > 0 {
		t.Errorf("customer_summary at min_position %d differs from the orders' events: %d of %d lines of the confirmed orders lost, %d counted twice:\n%s",
			last, lost, lines, extra, strings.Join(bad, "\n"))
	} else {
		t.Logf("customer_summary at min_position %d equals the fold of the events: %d lines of the confirmed orders, none lost", last, lines)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// readSummary reads a customer's summary once the read model has passed position,
// waiting up to a minute.
func readSummary(t *testing.T, base, customer string, position int64) api.CustomerSummary {
	t.Helper()
	url := fmt.Sprintf("%s/customers/%s/summary?min_position=%d&wait=10s", base, customer, position)
	deadline := time.Now().Add(time.Minute)
	for {
		r := do(t, http.MethodGet, url, "")
		switch {
		case r.Status == http.StatusOK:
			if got, _ := strconv.ParseInt(r.Header.Get("X-Read-Model-Position"), 10, 64); got < position {
				t.Errorf("summary: X-Read-Model-Position %d below min_position %d", got, position)
			}
			return decode[api.CustomerSummary](t, "summary", r.Body)
		case r.Status == http.StatusServiceUnavailable && time.Now().Before(deadline):
			continue // read_model_behind: the consumer is still catching up
		default:
			t.Fatalf("GET %s: %s", url, r)
		}
	}
}

// runVerifyE2E runs `orders verify` on the database (as the service's role, like an
// operator would) and fails the test unless it exits 0 having skipped no stream type:
// every aggregate the run wrote registers its read model (infrastructure/wiring).
func runVerifyE2E(t *testing.T, db string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars, err := testsupport.ServiceEnv(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, binPath, "verify")
	cmd.Env = serverEnv(vars)
	out, err := cmd.CombinedOutput()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("orders verify: %v", err)
	}
	text := strings.TrimSpace(string(out))
	if code != 0 || strings.Contains(text, "verify: skipped stream type") {
		t.Errorf("orders verify exited %d:\n%s", code, text)
		return
	}
	t.Logf("orders verify exited 0: %s", strings.ReplaceAll(text, "\n", " | "))
}

// streamLengths is the number of events of every stream, "type/id" -> n, read from the
// database.
func streamLengths(t *testing.T, db string) map[string]int64 {
	t.Helper()
	pool := dbPool(t, db)
	rows, err := pool.Query(context.Background(), `SELECT stream_type || '/' || stream_id, count(*) FROM events GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkFeedAndStream reads the whole feed from position 0, page by page, until it
// holds every event of the log (a reactor may still be writing: the log is read
// again until they agree), then takes the same events from the stream opened
// before the writers started, and checks both per stream.
func checkFeedAndStream(t *testing.T, base, db string, stream *sseStream) {
	t.Helper()
	var feed []api.FeedEvent
	after, pages := int64(0), 0
	var want map[string]int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := feedPage(t, fmt.Sprintf("%s/events?after=%d&limit=250", base, after))
		pages++
		if p.NextAfter < after {
			t.Fatalf("next_after went back from %d to %d", after, p.NextAfter)
		}
		feed = append(feed, p.Items...)
		after = p.NextAfter
		if !p.AtHead {
			continue
		}
		want = streamLengths(t, db)
		var total int64
		for _, n := range want {
			total += n
		}
		if int64(len(feed)) >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the feed at its head after %d pages holds %d events, the log %d", pages, len(feed), total)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	streams := len(want)
	if bad := testsupport.StreamOrder(feed, want); len(bad) > 0 {
		t.Errorf("the feed (%d events in %d pages) breaks per-stream order: %d problems, first: %s", len(feed), pages, len(bad), strings.Join(bad[:min(10, len(bad))], "; "))
	} else {
		t.Logf("the feed: %d events of %d streams in %d pages, every stream's versions 1..n in order, once", len(feed), streams, pages)
	}

	// The stream, opened before the first event.
	lastPos := int64(0)
	if len(feed) > 0 {
		lastPos = feed[len(feed)-1].Position
	}
	var sse []api.FeedEvent
	sseDeadline := time.After(30 * time.Second)
	for lastID := int64(0); lastID < lastPos; {
		select {
		case m := <-stream.msgs:
			lastID = m.id
			if m.data == "" {
				continue
			}
			var e api.FeedEvent
			if err := json.Unmarshal([]byte(m.data), &e); err != nil {
				t.Fatalf("stream message %d: %v: %s", m.id, err, m.data)
			}
			if e.Position != m.id {
				t.Errorf("stream message id %d carries position %d", m.id, e.Position)
			}
			sse = append(sse, e)
		case err := <-stream.done:
			t.Fatalf("the stream ended at %d of %d: %v", lastID, lastPos, err)
		case <-sseDeadline:
			t.Fatalf("the stream did not reach position %d within 30s (at %d)", lastPos, lastID)
		}
	}
	if bad := testsupport.StreamOrder(sse, want); len(bad) > 0 {
		t.Errorf("the event stream (%d events) breaks per-stream order: %d problems, first: %s", len(sse), len(bad), strings.Join(bad[:min(10, len(bad))], "; "))
	} else {
		t.Logf("the event stream: %d events of %d streams, every stream's versions 1..n in order, once", len(sse), streams)
	}
	pos := func(es []api.FeedEvent) []int64 {
		out := make([]int64, len(es))
		for i, e := range es {
			out[i] = e.Position
		}
		return out
	}
	if !slices.Equal(pos(feed), pos(sse)) {
		t.Errorf("the feed and the stream delivered different sequences: %d and %d events", len(feed), len(sse))
	}
}
