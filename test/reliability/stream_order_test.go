package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// TestHotOrdersKeepStreamOrder is issue 18's reproduction under the load of this
// package: replicas running the consumers, clients spread over them adding lines to,
// confirming and cancelling a few hot orders (a closed one is replaced by a new one),
// with If-Match and Idempotency-Keys. Then some of the keyed commands that succeeded
// are sent again (replays), and once the consumers have caught up:
//
//   - checkAll: the log, the ledger of acknowledged commands, and `orders verify` (which
//     compares customer_summary with the fold of the log);
//   - the customer's summary at the last position equals the fold of its orders' events;
//   - the fulfilment reactor shipped every confirmed order once, and cancelled the // example: shipment
//     shipment of an order cancelled after it was confirmed (or never created it); // example: shipment
//   - the feed from position 0 and an event stream open from before the first write
//     deliver every stream's versions exactly 1..n in order, each once.
//
// test/e2e's TestPerStreamOrderUnderContention is the quick one in `make test`; here
// the quick version is a short smoke run, and SOAK=1 runs it for a minute and a half.
func TestHotOrdersKeepStreamOrder(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	svcs := startServices(t, pick(2, 3), dbURL, map[string]string{"RUN_CONSUMERS": "true"})
	// Runs before the services stop: a connection dialed and never used holds up a
	// graceful shutdown for 5 s (net/http counts a new connection as active until then).
	t.Cleanup(func() {
		if b, ok := httpClient.Transport.(testsupport.Bearer); ok {
			if tr, ok := b.Base.(*http.Transport); ok {
				tr.CloseIdleConnections()
			}
		}
	})
	stream := followEvents(t, svcs[0].URL)
	cfg := loadConfig{
		orders:   4,
		clients:  pick(12, 32),
		requests: pick(1<<20, 1<<30),
		duration: pick(3*time.Second, 90*time.Second),
		pConfirm: 0.01,
		pCancel:  0.005,
		pIfMatch: 0.15,
		pIdem:    0.3,
		renew:    true,
	}
	l := newLoad(t, svcs, cfg)
	rng := newRand(t.Name())
	l.placeOrders(rng)
	begin := time.Now()
	l.run(context.Background(), "hot")
	t.Logf("%d replicas, %d clients on %d hot orders: %s in %v", len(svcs), cfg.clients, cfg.orders, l.summary(), time.Since(begin).Round(time.Millisecond))

	replayKeyed(t, svcs, l, pick(100, 2000))
	count412WithoutIfMatch(t, l)

	waitFulfilment(t, l, rng, svcs) // example: shipment
	conn := connect(t, dbURL)
	var lastPos int64
	if err := conn.QueryRow(context.Background(), `SELECT max(global_position) FROM events WHERE stream_type = 'order'`).Scan(&lastPos); err != nil {
		t.Fatal(err)
	}
	customer := l.prefix + "-customer"
	summary := summaryAt(t, svcs[len(svcs)-1].URL, customer, lastPos, time.Minute)

	checkAll(t, dbURL, svcs, l) // runs `orders verify`
	snap := checkStore(t, dbURL)
	checkSummaryFold(t, snap, customer, summary)
	checkShipmentsFold(t, snap) // example: shipment
	checkFeedAndEvents(t, svcs[len(svcs)-1].URL, snap, stream)
}

// replayKeyed sends up to n acknowledged commands that carried an Idempotency-Key again,
// with the same request, each to another replica: each must be answered as the first
// time, marked replayed.
func replayKeyed(t *testing.T, svcs []*service, l *load, n int) {
	t.Helper()
	var keyed []*command
	for _, c := range l.ledger.all() {
		if c.IdemKey != "" && c.Outcome == acked && c.Order != nil {
			keyed = append(keyed, c)
		}
	}
	rng := newRand(t.Name() + "/replay")
	rng.Shuffle(len(keyed), func(i, j int) { keyed[i], keyed[j] = keyed[j], keyed[i] })
	keyed = keyed[:min(n, len(keyed))]
	for _, c := range keyed {
		var path string
		var body []byte
		switch c.Kind {
		case kindPlace:
			path = "/orders"
			body = jsonBody(map[string]any{"id": c.OrderID, "customer_id": l.prefix + "-customer", "currency": "EUR", "contact": l.contact()})
		case kindAdd:
			path = "/orders/" + c.OrderID.String() + "/lines"
			i := slices.IndexFunc(c.Order.Lines, func(ln api.OrderLine) bool { return ln.Sku == c.SKU })
			if !expect(t, i >= 0, "%s: its line %s is not in its answer", c, c.SKU) {
				continue
			}
			ln := c.Order.Lines[i]
			body = jsonBody(map[string]any{"sku": ln.Sku, "quantity": ln.Quantity, "unit_price_cents": ln.UnitPriceCents})
		case kindConfirm:
			path = "/orders/" + c.OrderID.String() + "/confirm"
		case kindCancel:
			path = "/orders/" + c.OrderID.String() + "/cancel"
			if c.Reason != "" {
				body = jsonBody(map[string]any{"reason": c.Reason})
			}
		}
		headers := []string{"Idempotency-Key", c.IdemKey}
		if c.IfMatch > 0 {
			headers = append(headers, "If-Match", strconv.Quote(strconv.FormatInt(c.IfMatch, 10)))
		}
		r := mustSend(t, http.MethodPost, svcs[(c.Replica+1)%len(svcs)].URL+path, body, headers...)
		var o api.Order
		err := json.Unmarshal(r.Body, &o)
		expectData(t, r.Status == c.Status && r.Header.Get("Idempotency-Replayed") == "true" && err == nil && sameOrder(o, *c.Order) == "",
			"%s sent again: %d (replayed %q) %s", c, r.Status, r.Header.Get("Idempotency-Replayed"), r.Body)
	}
	t.Logf("%d keyed commands sent again: each answered as the first time", len(keyed))
}

// count412WithoutIfMatch fails on a command sent without If-Match that was answered
// 412 version_mismatch: the service retries those (a keyed one that lost its
// optimistic attempt once stored the 412 under its key).
func count412WithoutIfMatch(t *testing.T, l *load) {
	t.Helper()
	var n, keyed int
	for _, c := range l.ledger.all() {
		if c.Code == "version_mismatch" && c.IfMatch == 0 {
			n++
			if c.IdemKey != "" {
				keyed++
			}
		}
	}
	if n > 0 {
		t.Errorf("%d commands sent without If-Match were answered 412 version_mismatch (%d of them with an Idempotency-Key)", n, keyed)
	}
}

// summaryAt reads the customer's summary once the read model has passed position.
func summaryAt(t *testing.T, base, customer string, position int64, within time.Duration) api.CustomerSummary {
	t.Helper()
	url := fmt.Sprintf("%s/customers/%s/summary?min_position=%d&wait=10s", base, customer, position)
	for deadline := time.Now().Add(within); ; {
		r := mustSendChecked(t, http.MethodGet, url, nil)
		if r.Status == http.StatusOK {
			var s api.CustomerSummary
			if err := json.Unmarshal(r.Body, &s); err != nil {
				t.Fatalf("GET %s: %v", url, err)
			}
			return s
		}
		if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("GET %s: %s", url, r)
		}
	}
}

// checkSummaryFold compares the customer's summary with the fold of its orders' events.
func checkSummaryFold(t *testing.T, snap *snapshot, customer string, got api.CustomerSummary) {
	t.Helper()
	want := api.CustomerSummary{CustomerId: customer, ConfirmedTotals: map[string]int64{}}
	for _, evs := range snap.orders {
		if evs[0].event == nil {
			continue // reported by checkStore
		}
		o := foldAt(evs, int64(len(evs)))
		if o.CustomerId != customer {
			continue
		}
		want.OrdersPlaced++
		switch o.Status {
		case api.OrderStatusConfirmed:
			want.OrdersConfirmed++
			want.ConfirmedTotals[o.Currency] += o.TotalCents
		case api.OrderStatusCancelled:
			want.OrdersCancelled++
		}
	}
	same := got.OrdersPlaced == want.OrdersPlaced && got.OrdersConfirmed == want.OrdersConfirmed &&
		got.OrdersCancelled == want.OrdersCancelled && len(got.ConfirmedTotals) == len(want.ConfirmedTotals)
	for c, v := range want.ConfirmedTotals {
		same = same && got.ConfirmedTotals[c] == v
	}
	if expectData(t, same, "customer_summary of %s: %+v; the fold of its orders' events: %+v", customer, got, want) {
		t.Logf("customer_summary of %s equals the fold of its %d orders' events: %+v", customer, want.OrdersPlaced, got)
	}
}

// eventFollower reads an event stream (GET /events/stream) into a list.
type eventFollower struct {
	mu     sync.Mutex
	events []api.FeedEvent
	lastID int64
	err    error // why the read ended, once it did
}

// followEvents opens an event stream from the start of the log on base and reads it
// until the test ends.
func followEvents(t *testing.T, base string) *eventFollower {
	t.Helper()
	client := &http.Client{Transport: httpClient.Transport} // no timeout: a stream does not end
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req) //nolint:bodyclose // the reading goroutine closes it
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		cancel()
		t.Fatalf("GET /events/stream: %d %s", resp.StatusCode, b)
	}
	f := &eventFollower{}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var id int64
		var data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			case line == "" && id > 0:
				var e api.FeedEvent
				var err error
				if data != "" {
					err = json.Unmarshal([]byte(data), &e)
				}
				f.mu.Lock()
				f.lastID = id
				if data != "" {
					switch {
					case err != nil:
						f.err = fmt.Errorf("message %d: %w: %s", id, err, data)
					case e.Position != id:
						f.err = fmt.Errorf("message %d carries position %d", id, e.Position)
					}
					f.events = append(f.events, e)
				}
				f.mu.Unlock()
				id, data = 0, ""
			}
		}
		f.mu.Lock()
		if f.err == nil {
			err := sc.Err()
			if err == nil {
				err = io.EOF
			}
			f.err = fmt.Errorf("the stream ended: %w", err)
		}
		f.mu.Unlock()
	}()
	return f
}

// upTo waits until the stream has reached position, and returns what it received.
func (f *eventFollower) upTo(position int64, within time.Duration) ([]api.FeedEvent, error) {
	for deadline := time.Now().Add(within); ; {
		f.mu.Lock()
		events, last, err := slices.Clone(f.events), f.lastID, f.err
		f.mu.Unlock()
		if last >= position {
			return events, nil
		}
		if err != nil {
			return events, err
		}
		if time.Now().After(deadline) {
			return events, fmt.Errorf("at %d, not at %d within %v", last, position, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkFeedAndEvents reads the whole feed from position 0, page by page, and takes the
// stream's events up to the same position; both must hold every stream of the log
// (snap) with its versions 1..n in order, each once, and the same events.
func checkFeedAndEvents(t *testing.T, base string, snap *snapshot, stream *eventFollower) {
	t.Helper()
	lengths := map[string]int64{}
	var total int
	for k, evs := range snap.streams {
		lengths[k] = int64(len(evs))
		total += len(evs)
	}
	var feed []api.FeedEvent
	after, pages := int64(0), 0
	for deadline := time.Now().Add(time.Minute); len(feed) < total; {
		r := mustSendChecked(t, http.MethodGet, fmt.Sprintf("%s/events?after=%d&limit=200", base, after), nil)
		var p api.FeedPage
		if err := json.Unmarshal(r.Body, &p); r.Status != http.StatusOK || err != nil {
			t.Fatalf("GET /events?after=%d: %s (%v)", after, r, err)
		}
		pages++
		expect(t, p.NextAfter >= after, "next_after went back from %d to %d", after, p.NextAfter)
		feed = append(feed, p.Items...)
		after = p.NextAfter
		if p.AtHead && len(feed) < total {
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	bad := testsupport.StreamOrder(feed, lengths)
	if expectData(t, len(bad) == 0, "the feed (%d events in %d pages) breaks per-stream order: %d problems, first: %s",
		len(feed), pages, len(bad), strings.Join(bad[:min(10, len(bad))], "; ")) {
		t.Logf("the feed: %d events of %d streams in %d pages, every stream's versions 1..n in order, once", len(feed), len(lengths), pages)
	}
	if len(feed) == 0 {
		return
	}
	events, err := stream.upTo(feed[len(feed)-1].Position, time.Minute)
	expectData(t, err == nil, "the event stream: %v", err)
	bad = testsupport.StreamOrder(events, lengths)
	if expectData(t, len(bad) == 0, "the event stream (%d events) breaks per-stream order: %d problems, first: %s",
		len(events), len(bad), strings.Join(bad[:min(10, len(bad))], "; ")) {
		t.Logf("the event stream: %d events of %d streams, every stream's versions 1..n in order, once", len(events), len(lengths))
	}
	positions := func(es []api.FeedEvent) []int64 {
		out := make([]int64, len(es))
		for i, e := range es {
			out[i] = e.Position
		}
		return out
	}
	expectData(t, slices.Equal(positions(feed), positions(events)), "the feed and the event stream delivered different events: %d and %d", len(feed), len(events))
}
