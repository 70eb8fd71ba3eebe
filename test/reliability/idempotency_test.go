package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/test/pgtest"
)

// TestIdempotencyUnderFire sends one Idempotency-Key many times at once, spread over the
// replicas: the command must run once (one set of events, recorded by the one request
// whose answer is not marked Idempotency-Replayed) and every request must get the same
// status and the same body bytes. Rounds cover each command, a rejected one (whose
// rejection is kept too) and a place without a client-chosen id (all must see the same
// server-chosen id).
func TestIdempotencyUnderFire(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	svcs := startServices(t, 3, dbURL, nil)
	const copies = 20
	prefix := "idem-" + uuid.NewString()[:8]
	conn := connect(t, dbURL)

	rounds := pick(1, 25)
	for round := 0; round < rounds; round++ {
		p := fmt.Sprintf("%s-%d", prefix, round)
		// place, without an id: the server chooses one, once
		ans := fire(t, conn, svcs, copies, p+"-place", http.MethodPost, "/orders", jsonBody(map[string]any{"customer_id": p, "currency": "EUR"}))
		o := orderOf(t, ans)
		if o == nil {
			return
		}
		id := o.Id
		expect(t, countEvents(t, conn, `stream_id = $1`, id.String()) == 1, "place: %d events, want 1", countEvents(t, conn, `stream_id = $1`, id.String()))
		expect(t, countEvents(t, conn, `payload->>'customer_id' = $1`, p) == 1, "place with one key made %d orders", countEvents(t, conn, `payload->>'customer_id' = $1`, p))

		// add a line
		sku := p + "-sku"
		fire(t, conn, svcs, copies, p+"-add", http.MethodPost, "/orders/"+id.String()+"/lines", jsonBody(map[string]any{"sku": sku, "quantity": 2, "unit_price_cents": 150}))
		expect(t, countEvents(t, conn, `payload->>'sku' = $1`, sku) == 1, "add-line: %d events with sku %s, want 1", countEvents(t, conn, `payload->>'sku' = $1`, sku), sku)

		// with If-Match of the current version
		sku2 := p + "-sku2"
		fire(t, conn, svcs, copies, p+"-add-if-match", http.MethodPost, "/orders/"+id.String()+"/lines",
			jsonBody(map[string]any{"sku": sku2, "quantity": 1, "unit_price_cents": 1}), "If-Match", `"2"`)
		expect(t, countEvents(t, conn, `payload->>'sku' = $1`, sku2) == 1, "add-line with If-Match: %d events, want 1", countEvents(t, conn, `payload->>'sku' = $1`, sku2))

		// confirm, or cancel
		if round%2 == 0 {
			fire(t, conn, svcs, copies, p+"-confirm", http.MethodPost, "/orders/"+id.String()+"/confirm", nil)
			expect(t, countEvents(t, conn, `stream_id = $1 AND event_type = 'OrderConfirmed'`, id.String()) == 1, "confirm: not exactly one OrderConfirmed")
		} else {
			reason := p + " reason"
			fire(t, conn, svcs, copies, p+"-cancel", http.MethodPost, "/orders/"+id.String()+"/cancel", jsonBody(map[string]any{"reason": reason}))
			expect(t, countEvents(t, conn, `payload->>'reason' = $1`, reason) == 1, "cancel: not exactly one OrderCancelled")
		}

		// a rejected command: its 409 is kept and replayed like a success
		sku3 := p + "-late"
		ans = fire(t, conn, svcs, copies, p+"-rejected", http.MethodPost, "/orders/"+id.String()+"/lines", jsonBody(map[string]any{"sku": sku3, "quantity": 1, "unit_price_cents": 1}))
		expect(t, ans[0].Status == http.StatusConflict, "add-line to a closed order: %s, want 409", ans[0])
		expect(t, countEvents(t, conn, `payload->>'sku' = $1`, sku3) == 0, "rejected add-line left events")

		expect(t, countEvents(t, conn, `stream_id = $1`, id.String()) == 4, "order %s: %d events, want 4", id, countEvents(t, conn, `stream_id = $1`, id.String()))

		// One key, two different requests at once: one of them runs, once; the
		// copies of the other are told the key was used for something else.
		other := placeOrder(t, svcs[round%len(svcs)], p+"-mixed")
		fireMixed(t, conn, svcs, copies, p+"-mixed", "/orders/"+other+"/lines", p+"-mixed-a", p+"-mixed-b")
	}
	checkAll(t, dbURL, svcs)
}

// fire sends the same request with the same Idempotency-Key copies times at once, over
// the replicas in turn, and checks that all answers are the same and exactly one ran the
// command. Each copy has its own correlation id; the events must carry the runner's.
func fire(t *testing.T, conn *pgx.Conn, svcs []*service, copies int, key, method, path string, body []byte, headers ...string) []*response {
	t.Helper()
	answers := make([]*response, copies)
	corrs := make([]string, copies)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range answers {
		corrs[i] = key + "-corr-" + strconv.Itoa(i)
		h := append([]string{"Idempotency-Key", key, "X-Correlation-ID", corrs[i]}, headers...)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			answers[i] = send(ctx, method, svcs[i%len(svcs)].URL+path, body, h...)
		}(i)
	}
	close(start)
	wg.Wait()
	first := answers[0]
	ran := -1
	for i, a := range answers {
		where := fmt.Sprintf("%s copy %d (%s)", key, i, svcs[i%len(svcs)].name)
		if !expect(t, a.Err == nil, "%s: %v", where, a.Err) {
			return answers
		}
		checkAnswer(t, where, a)
		expect(t, a.Status == first.Status, "%s: status %d, copy 0 got %d", where, a.Status, first.Status)
		expect(t, bytes.Equal(a.Body, first.Body), "%s: body differs from copy 0's:\n%s\n%s", where, a.Body, first.Body)
		for _, h := range []string{"ETag", "Location", "Content-Type"} {
			expect(t, a.Header.Get(h) == first.Header.Get(h), "%s: %s %q, copy 0 got %q", where, h, a.Header.Get(h), first.Header.Get(h))
		}
		if a.Header.Get("Idempotency-Replayed") != "true" {
			expect(t, ran < 0, "%s: copies %d and %d both ran the command (neither is marked Idempotency-Replayed)", where, ran, i)
			ran = i
		}
		if a.Status >= 200 && a.Status < 300 {
			stats.acknowledged.Add(1)
		} else {
			stats.rejected.Add(1)
		}
	}
	expect(t, ran >= 0, "%s: every copy is marked Idempotency-Replayed; one must have run the command", key)
	// The events carry the correlation id of the copy that ran, and of no other.
	if ran >= 0 && first.Status < 300 {
		for i, c := range corrs {
			n := countEvents(t, conn, `correlation_id = $1`, c)
			if i == ran {
				expect(t, n == 1, "%s: the copy that ran (%d) has %d events, want 1", key, i, n)
			} else {
				expect(t, n == 0, "%s: copy %d was replayed but has %d events", key, i, n)
			}
		}
	}
	return answers
}

func orderOf(t *testing.T, answers []*response) *struct{ Id uuid.UUID } {
	t.Helper()
	a := answers[0]
	if !expect(t, a.Err == nil && a.Status == http.StatusCreated, "place: %s", a) {
		return nil
	}
	var o struct{ Id uuid.UUID }
	if err := json.Unmarshal(a.Body, &o); err != nil {
		expect(t, false, "place: %v", err)
		return nil
	}
	return &o
}

// connect opens a connection to dbURL for the test.
func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func countEvents(t *testing.T, conn *pgx.Conn, where string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatalf("count events where %s: %v", where, err)
	}
	return n
}

// fireMixed sends copies requests with one Idempotency-Key at once, half adding a line
// with skuA and half with skuB.
func fireMixed(t *testing.T, conn *pgx.Conn, svcs []*service, copies int, key, path, skuA, skuB string) {
	t.Helper()
	answers := make([]*response, copies)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range answers {
		sku := skuA
		if i%2 == 1 {
			sku = skuB
		}
		body := jsonBody(map[string]any{"sku": sku, "quantity": 1, "unit_price_cents": 7})
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			answers[i] = send(ctx, http.MethodPost, svcs[i%len(svcs)].URL+path, body, "Idempotency-Key", key)
		}(i)
	}
	close(start)
	wg.Wait()
	a, b := countEvents(t, conn, `payload->>'sku' = $1`, skuA), countEvents(t, conn, `payload->>'sku' = $1`, skuB)
	if !expect(t, a+b == 1, "%s: %d lines with %s and %d with %s, want one line in all", key, a, skuA, b, skuB) {
		return
	}
	winner := 0 // copies 0, 2, 4, ... sent skuA
	if b == 1 {
		winner = 1
	}
	var won, lost *response
	for i, r := range answers {
		where := fmt.Sprintf("%s copy %d", key, i)
		if !expect(t, r.Err == nil, "%s: %v", where, r.Err) {
			continue
		}
		code := checkAnswer(t, where, r)
		if i%2 == winner {
			expect(t, r.Status == http.StatusOK, "%s: the request that ran: %s", where, r)
			if won != nil {
				expect(t, bytes.Equal(r.Body, won.Body), "%s: body differs from another copy's:\n%s\n%s", where, r.Body, won.Body)
			}
			won = r
			stats.acknowledged.Add(1)
		} else {
			expect(t, r.Status == http.StatusUnprocessableEntity && code == "idempotency_key_reused", "%s: the other request: %s, want 422 idempotency_key_reused", where, r)
			if lost != nil {
				expect(t, bytes.Equal(r.Body, lost.Body), "%s: body differs from another copy's:\n%s\n%s", where, r.Body, lost.Body)
			}
			lost = r
			stats.rejected.Add(1)
		}
	}
}
