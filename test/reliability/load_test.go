package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/api"
)

type kind string

const (
	kindPlace   kind = "place"
	kindAdd     kind = "add-line"
	kindConfirm kind = "confirm"
	kindCancel  kind = "cancel"
)

type outcome int

const (
	acked    outcome = iota // 2xx: the command's effect must be in the log
	rejected                // 4xx: nothing of it may be in the log
	unknown                 // 503 or no answer: in the log at most once
)

func (o outcome) String() string {
	return [...]string{"acknowledged", "rejected", "unknown"}[o]
}

// command is one command sent and what came back.
type command struct {
	Kind     kind
	OrderID  uuid.UUID
	Corr     string // X-Correlation-ID, unique per command: finds its events
	SKU      string // add-line: unique per command too
	Reason   string // cancel
	IdemKey  string
	IfMatch  int64
	Replica  int
	Start    time.Time
	Took     time.Duration
	Status   int
	Code     string // problem code of an error answer
	Err      string // transport error
	Order    *api.Order
	Replayed bool
	Outcome  outcome
}

func (c *command) String() string {
	s := fmt.Sprintf("%s %s (corr %s, replica %d", c.Kind, c.OrderID, c.Corr, c.Replica)
	if c.IfMatch > 0 {
		s += fmt.Sprintf(", If-Match %d", c.IfMatch)
	}
	if c.IdemKey != "" {
		s += ", key " + c.IdemKey
	}
	s += fmt.Sprintf(", after %v): %s", c.Took.Round(time.Millisecond), c.Outcome)
	switch {
	case c.Err != "":
		s += " (" + c.Err + ")"
	case c.Code != "":
		s += fmt.Sprintf(" (%d %s)", c.Status, c.Code)
	case c.Order != nil:
		s += fmt.Sprintf(" (%d, version %d, %s)", c.Status, c.Order.Version, c.Order.Status)
	}
	return s
}

// ledger records every command of a test, from any goroutine.
type ledger struct {
	mu   sync.Mutex
	cmds []*command
}

func (l *ledger) add(c *command) {
	l.mu.Lock()
	l.cmds = append(l.cmds, c)
	l.mu.Unlock()
}

func (l *ledger) all() []*command {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*command(nil), l.cmds...)
}

// expectedRejections are the 4xx codes the load provokes on purpose.
var expectedRejections = map[string]bool{
	"order_not_pending":    true, // a line added to a closed order
	"order_cancelled":      true, // confirming a cancelled order
	"order_has_no_lines":   true, // confirming an empty order
	"concurrency_conflict": true, // the retries ran out
	"version_mismatch":     true, // If-Match named an old version
}

// loadConfig says how hard and how long to push.
type loadConfig struct {
	orders   int           // orders being worked on at once
	clients  int           // concurrent clients
	requests int           // total commands, at most
	duration time.Duration // and at most this long
	pConfirm float64       // share of confirms
	pCancel  float64       // share of cancels
	pIfMatch float64       // share sent with If-Match of the last version seen
	pIdem    float64       // share sent with an Idempotency-Key
	renew    bool          // replace a closed order with a new one
	pace     time.Duration // pause between a client's commands
	maxTook  time.Duration // when set, every answer must come within this
}

// load runs commands against replicas and records them.
type load struct {
	t      *testing.T
	svcs   []*service
	cfg    loadConfig
	prefix string // of correlation ids, skus and keys: this load's and nobody else's
	ledger *ledger

	mu    sync.Mutex
	slots []slot

	seq     atomic.Int64
	started atomic.Int64
}

type slot struct {
	id      uuid.UUID
	version int64 // last seen
}

func newLoad(t *testing.T, svcs []*service, cfg loadConfig) *load {
	return &load{t: t, svcs: svcs, cfg: cfg, prefix: "r" + uuid.NewString()[:8], ledger: &ledger{}}
}

// placeOrders places the initial orders, through the replicas in turn; they must
// succeed (the faults come later).
func (l *load) placeOrders(rng *rand.Rand) {
	l.t.Helper()
	for i := 0; i < l.cfg.orders; i++ {
		c := l.exec(context.Background(), rng, i%len(l.svcs), kindPlace, uuid.New(), 0)
		if c.Outcome != acked {
			l.t.Fatalf("place order: %s", c)
		}
		l.slots = append(l.slots, slot{id: c.OrderID, version: c.Order.Version})
	}
}

// run lets cfg.clients clients send commands until cfg.requests were sent, the
// duration is over or ctx ends. Each command goes to a replica chosen at random, up or
// not: a client behind a balancer that has not noticed a crash does the same.
func (l *load) run(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for c := 0; c < l.cfg.clients; c++ {
		wg.Add(1)
		go func(rng *rand.Rand) {
			defer wg.Done()
			for ctx.Err() == nil && int(l.started.Add(1)) <= l.cfg.requests {
				l.step(ctx, rng)
				if l.cfg.pace > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(l.cfg.pace):
					}
				}
			}
		}(newRand(fmt.Sprintf("%s/%s/%d", l.t.Name(), name, c)))
	}
	wg.Wait()
}

func (l *load) step(ctx context.Context, rng *rand.Rand) {
	l.mu.Lock()
	i := rng.IntN(len(l.slots))
	s := l.slots[i]
	l.mu.Unlock()
	k := kindAdd
	switch x := rng.Float64(); {
	case x < l.cfg.pConfirm:
		k = kindConfirm
	case x < l.cfg.pConfirm+l.cfg.pCancel:
		k = kindCancel
	}
	var ifMatch int64
	if rng.Float64() < l.cfg.pIfMatch {
		ifMatch = s.version
	}
	c := l.exec(ctx, rng, rng.IntN(len(l.svcs)), k, s.id, ifMatch)
	if c.Err != "" {
		time.Sleep(25 * time.Millisecond) // a replica is down: do not spin on it
	}
	if c.Order != nil {
		l.mu.Lock()
		if l.slots[i].id == s.id && c.Order.Version > l.slots[i].version {
			l.slots[i].version = c.Order.Version
		}
		l.mu.Unlock()
	}
	closed := c.Code == "order_not_pending" || c.Code == "order_cancelled" ||
		(c.Order != nil && c.Order.Status != api.OrderStatusPending)
	if l.cfg.renew && closed {
		p := l.exec(ctx, rng, rng.IntN(len(l.svcs)), kindPlace, uuid.New(), 0)
		if p.Outcome == acked {
			l.mu.Lock()
			if l.slots[i].id == s.id {
				l.slots[i] = slot{id: p.OrderID, version: p.Order.Version}
			}
			l.mu.Unlock()
		}
	}
}

// exec sends one command to replica r, records it and checks the answer's form.
func (l *load) exec(ctx context.Context, rng *rand.Rand, r int, k kind, id uuid.UUID, ifMatch int64) *command {
	n := l.seq.Add(1)
	c := &command{Kind: k, OrderID: id, Corr: fmt.Sprintf("%s-c%d", l.prefix, n), Replica: r, IfMatch: ifMatch}
	headers := []string{"X-Correlation-ID", c.Corr}
	if ifMatch > 0 {
		headers = append(headers, "If-Match", strconv.Quote(strconv.FormatInt(ifMatch, 10)))
	}
	if rng.Float64() < l.cfg.pIdem {
		c.IdemKey = fmt.Sprintf("%s-k%d", l.prefix, n)
		headers = append(headers, "Idempotency-Key", c.IdemKey)
	}
	base := l.svcs[r].URL
	var path string
	var body []byte
	switch k {
	case kindPlace:
		path = "/orders"
		body = jsonBody(map[string]any{"id": id, "customer_id": l.prefix + "-customer", "currency": "EUR", "contact": l.contact()})
	case kindAdd:
		c.SKU = fmt.Sprintf("%s-s%d", l.prefix, n)
		path = "/orders/" + id.String() + "/lines"
		body = jsonBody(map[string]any{"sku": c.SKU, "quantity": 1 + rng.IntN(5), "unit_price_cents": rng.IntN(10000)})
	case kindConfirm:
		path = "/orders/" + id.String() + "/confirm"
	case kindCancel:
		path = "/orders/" + id.String() + "/cancel"
		if rng.IntN(4) > 0 {
			c.Reason = fmt.Sprintf("reason %d", n)
			body = jsonBody(map[string]any{"reason": c.Reason})
		}
	}
	c.Start = time.Now()
	// The load's context only stops new commands; one in flight runs to its answer.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	resp := send(rctx, http.MethodPost, base+path, body, headers...)
	c.Took, c.Status = resp.Took, resp.Status
	where := string(c.Kind) + " via " + l.svcs[r].name
	if resp.Err != nil {
		c.Err = resp.Err.Error()
	} else {
		c.Code = checkAnswer(l.t, where, resp)
		checkNoLeak(l.t, where, resp.Body)
		c.Replayed = resp.Header.Get("Idempotency-Replayed") == "true"
	}
	switch {
	case resp.Err == nil && resp.Status >= 200 && resp.Status < 300:
		c.Outcome = acked
		var o api.Order
		if err := json.Unmarshal(resp.Body, &o); err != nil {
			expect(l.t, false, "%s: %d answer is not an order: %v: %s", where, resp.Status, err, resp.Body)
		} else {
			c.Order = &o
			expect(l.t, o.Id == id, "%s: answer is order %s, want %s", where, o.Id, id)
			expect(l.t, resp.Header.Get("ETag") == strconv.Quote(strconv.FormatInt(o.Version, 10)),
				"%s: ETag %q but version %d", where, resp.Header.Get("ETag"), o.Version)
		}
		stats.acknowledged.Add(1)
	case resp.Err == nil && resp.Status >= 400 && resp.Status < 500:
		c.Outcome = rejected
		expect(l.t, expectedRejections[c.Code], "%s: unexpected rejection %d %s: %s", where, resp.Status, c.Code, resp.Body)
		stats.rejected.Add(1)
	default:
		c.Outcome = unknown
		stats.unknown.Add(1)
	}
	if l.cfg.maxTook > 0 {
		expect(l.t, c.Took < l.cfg.maxTook, "%s: answered after %v, want less than %v: %s", where, c.Took, l.cfg.maxTook, c)
	}
	l.ledger.add(c)
	return c
}

// summary counts outcomes, for the test log.
func (l *load) summary() string {
	var n [3]int
	codes := map[string]int{}
	for _, c := range l.ledger.all() {
		n[c.Outcome]++
		if c.Code != "" {
			codes[c.Code]++
		}
		if c.Err != "" {
			codes["no answer"]++
		}
	}
	return fmt.Sprintf("%d commands: %d acknowledged, %d rejected, %d without a definite answer; %v", n[0]+n[1]+n[2], n[0], n[1], n[2], codes)
}

// contact is the personal data every order of the load carries: sealed under the load's
// customer's key by whichever replica places it, opened by whichever reads it.
func (l *load) contact() map[string]any {
	return map[string]any{"name": "Soak " + l.prefix, "email": l.prefix + "@example.org",
		"address": map[string]string{"line1": "1 " + l.prefix + " Street", "postal_code": "S1", "city": "Soakton", "country": "FR"}}
}

// showsContact reports whether o shows the load's contact, opened.
func (l *load) showsContact(o *api.Order) bool {
	return o.Contact != nil && !o.Contact.Erased && o.Contact.Name != nil && *o.Contact.Name == "Soak "+l.prefix &&
		o.Contact.Address != nil && o.Contact.Address.Line1 == "1 "+l.prefix+" Street"
}
