package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/example/orders/domain/order"
)

const (
	contentionClients = 32
	contentionOrders  = 4 // hot orders at a time: a group of 8 clients on each
	// contentionLinesPerOrder is how many add-line requests (answered or not) one hot
	// order takes before its group of clients moves on to the order of the next
	// generation: the requests of a group are numbered, and request k goes to generation
	// k/contentionLinesPerOrder. An order thus never holds more than 800 lines, well
	// under order.MaxLines (1,000; one more is 409 order_too_many_lines), and the 8
	// clients of a group move together, so that every order is contended by 8 clients.
	// (Counting each client's own requests instead lets the clients that win their
	// races run ahead, alone on a fresh order, and the contention fades.)
	contentionLinesPerOrder = 800
)

// A compile-time check that the hot orders stay under the domain's cap: the array
// length goes negative, and the build fails, if they could pass order.MaxLines - 100.
var _ [order.MaxLines - 100 - contentionLinesPerOrder]struct{}

// contentionResult is scenario 4.
type contentionResult struct {
	Clients int `json:"clients"`
	Orders  int `json:"orders"` // hot orders at a time
	// Each group of clients moves to a fresh order after LinesPerOrder requests to its
	// current one, so that no order reaches order.MaxLines: Generations sets of Orders
	// orders were used, and every order of them is checked.
	LinesPerOrder int     `json:"lines_per_order"`
	Generations   int     `json:"generations"`
	MaxLineCount  int64   `json:"max_line_count"`
	Load          result  `json:"load"`
	Successes     int     `json:"successes"`
	SuccessRate   float64 `json:"successes_per_second"`
	Conflicts     int     `json:"conflicts_409"`
	SuccessP99    float64 `json:"success_p99_ms"`
	// Failed attempts, from PostgreSQL's own counters: every attempt that loses the
	// race rolls its transaction back; the service does not report retries itself.
	Rollbacks          int64      `json:"rollbacks"`
	RetriesPerSuccess  float64    `json:"retries_per_success"`
	RetriesMeasured    bool       `json:"retries_measured"`
	RetriesNote        string     `json:"retries_note,omitempty"`
	Lost               int        `json:"lost"`
	Duplicated         int        `json:"duplicated"`
	Phantom            int        `json:"phantom"`
	VersionsMatchAcked bool       `json:"versions_match_acknowledged"`
	PerOrder           []hotOrder `json:"per_order"`
}

// hotOrder is what one hot order should hold and what it holds.
type hotOrder struct {
	ID         string `json:"id"`
	Generation int    `json:"generation"`
	Acked      int    `json:"acknowledged"`
	Conflicts  int    `json:"conflicts"`
	LineCount  int64  `json:"line_count"`
	Version    int64  `json:"version"`
	Events     int    `json:"events"`
	Problem    string `json:"problem,omitempty"`
}

// hotClient is one client's record of what it sent and what it was told.
type hotClient struct {
	group    int              // the client's hot order in each generation
	sentTo   map[string]int   // sku -> index of its order in hotOrders.all()
	acked    map[string]int64 // sku -> price, answered 200
	rejected map[string]bool  // answered 409 concurrency_conflict: must not be stored
	unknown  map[string]bool  // no answer: may be stored once, or not at all
	okLat    []time.Duration
}

// hotOrders are the generations of hot orders: generation g is contentionOrders
// orders, placed over HTTP when first asked for. The run starts with two generations
// placed, and a client that enters generation g has generation g+1 placed in the
// background, so that no client waits for a placement in practice.
type hotOrders struct {
	mu   sync.Mutex
	gens []*hotGen
	bg   sync.WaitGroup
}

type hotGen struct {
	once sync.Once
	ids  []string
	err  error
}

// get returns generation g's orders, placing them if nobody has.
func (h *hotOrders) get(ctx context.Context, env *environment, g int) ([]string, error) {
	h.mu.Lock()
	for len(h.gens) <= g {
		h.gens = append(h.gens, &hotGen{})
	}
	gen := h.gens[g]
	h.mu.Unlock()
	gen.once.Do(func() { gen.ids, gen.err = prefill(ctx, env, contentionOrders, 0) })
	return gen.ids, gen.err
}

// prepare places generation g in the background.
func (h *hotOrders) prepare(ctx context.Context, env *environment, g int) {
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		_, _ = h.get(ctx, env, g) // an error shows when a client asks for g
	}()
}

// all returns every placed order, generation by generation, and the generation of
// each, once the background placements are done.
func (h *hotOrders) all() (ids []string, gens []int) {
	h.bg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	for g, gen := range h.gens {
		for _, id := range gen.ids {
			ids, gens = append(ids, id), append(gens, g)
		}
	}
	return ids, gens
}

// runContention is scenario 4: 32 clients add lines to 4 hot orders (no If-Match, so
// the service retries lost races itself), then every order is checked against what
// the clients were told. Orders hold at most order.MaxLines lines, so each group of 8
// clients moves on to a fresh order every contentionLinesPerOrder requests: 8 clients
// contend for each of 4 orders all the time, in generations of orders.
func runContention(ctx context.Context, env *environment, rep *report) error {
	hot := &hotOrders{}
	for g := range 2 {
		if _, err := hot.get(ctx, env, g); err != nil {
			return err
		}
	}
	clients := make([]*hotClient, contentionClients)
	for i := range clients {
		clients[i] = &hotClient{group: i % contentionOrders, sentTo: map[string]int{}, acked: map[string]int64{},
			rejected: map[string]bool{}, unknown: map[string]bool{}}
	}
	var sent [contentionOrders]atomic.Int64 // requests per group
	var entered sync.Map                    // generation -> true, once some client entered it
	before, beforeErr := dbCounters(ctx, env)
	l := load{name: "contention", workers: contentionClients, newOp: func(i int) func(context.Context) outcome {
		c := clients[i]
		return func(opCtx context.Context) outcome {
			n := sent[c.group].Add(1)
			gen := int((n - 1) / contentionLinesPerOrder)
			if _, seen := entered.LoadOrStore(gen, true); !seen && gen > 0 {
				hot.prepare(ctx, env, gen+1)
			}
			ids, err := hot.get(ctx, env, gen)
			if err != nil {
				return outcome{label: "place error", err: err}
			}
			sku, price := fmt.Sprintf("hot-%d-%d", c.group, n), int64(100+i)
			c.sentTo[sku] = gen*contentionOrders + c.group
			t0 := time.Now()
			a, err := env.http.addLine(opCtx, ids[c.group], sku, 1, price)
			switch {
			case err != nil:
				c.unknown[sku] = true
				return outcome{label: "transport error", err: err}
			case a.status == http.StatusOK:
				c.acked[sku] = price
				c.okLat = append(c.okLat, time.Since(t0))
				return outcome{label: "200", bytes: len(a.body)}
			case labelOf(a) == "409 concurrency_conflict":
				c.rejected[sku] = true
				return outcome{label: labelOf(a), bytes: len(a.body)}
			default:
				if a.status >= 500 {
					c.unknown[sku] = true
				}
				return expect(a, nil, http.StatusOK)
			}
		}
	}}
	if env.cfg.smoke {
		l.count = 4 * contentionClients
	} else {
		l.duration = env.cfg.contention
	}
	s := runLoad(ctx, env, l)
	res := contentionResult{Clients: contentionClients, Orders: contentionOrders, LinesPerOrder: contentionLinesPerOrder,
		Load: summarize("add line, 4 hot orders", contentionClients, []sample{s})}
	var okLat []time.Duration
	for _, c := range clients {
		res.Successes += len(c.acked)
		res.Conflicts += len(c.rejected)
		okLat = append(okLat, c.okLat...)
	}
	for g := range sent {
		res.Generations = max(res.Generations, int((sent[g].Load()+contentionLinesPerOrder-1)/contentionLinesPerOrder))
	}
	slices.Sort(okLat)
	res.SuccessP99 = ms(percentile(okLat, 99))
	res.SuccessRate = float64(res.Successes) / s.elapsed.Seconds()
	logf("  contention: %d clients on %d orders at a time (%d generations of orders): %d added (%.1f/s), %d answered 409 concurrency_conflict, p99 %.1f ms",
		res.Clients, res.Orders, res.Generations, res.Successes, res.SuccessRate, res.Conflicts, res.Load.P99)

	end := time.Now()

	ids, gens := hot.all()
	checkHotOrders(ctx, env, ids, gens, clients, &res)
	switch {
	case env.cfg.smoke:
		res.RetriesNote = "not measured in smoke mode: PostgreSQL publishes its transaction counters up to 10 s late"
	case beforeErr != nil:
		res.RetriesNote = "pg_stat_database unreadable: " + beforeErr.Error()
	default:
		after, err := countersAfter(ctx, env, end)
		if err != nil {
			res.RetriesNote = "pg_stat_database unreadable: " + err.Error()
			break
		}
		res.Rollbacks = after.rollbacks - before.rollbacks
		res.RetriesMeasured = true
		if res.Successes > 0 {
			res.RetriesPerSuccess = float64(res.Rollbacks) / float64(res.Successes)
		}
	}
	rep.Contention = &res
	rep.check("contention", res.Load.Errors == 0, errorsOf(res.Load))
	rep.check("contention", res.Successes > 0, "no line was added at all")
	rep.check("contention", res.Lost == 0 && res.Duplicated == 0 && res.Phantom == 0 && res.VersionsMatchAcked,
		fmt.Sprintf("lost %d, duplicated %d, stored despite 409: %d; orders: %+v", res.Lost, res.Duplicated, res.Phantom, res.PerOrder))
	return nil
}

// checkHotOrders compares each hot order with what its clients were told: every
// acknowledged line exactly once, no line whose request was rejected, the line count
// (units; every line has quantity 1) and the version equal to what was acknowledged,
// and the event stream and its fold agreeing with the read model.
func checkHotOrders(ctx context.Context, env *environment, ids []string, gens []int, clients []*hotClient, res *contentionResult) {
	res.VersionsMatchAcked = true
	for k, id := range ids {
		h := hotOrder{ID: id, Generation: gens[k]}
		acked, rejected, unknown := map[string]int64{}, map[string]bool{}, map[string]bool{}
		for _, c := range clients {
			for s, p := range c.acked {
				if c.sentTo[s] == k {
					acked[s] = p
				}
			}
			for s := range c.rejected {
				if c.sentTo[s] == k {
					rejected[s] = true
				}
			}
			for s := range c.unknown {
				if c.sentTo[s] == k {
					unknown[s] = true
				}
			}
		}
		h.Acked, h.Conflicts = len(acked), len(rejected)
		var problems []string
		ord, err := env.http.getOrder(ctx, "/orders/"+id)
		if err != nil {
			problems = append(problems, err.Error())
		}
		h.LineCount, h.Version = ord.LineCount, ord.Version
		res.MaxLineCount = max(res.MaxLineCount, int64(len(ord.Lines)))
		seen := map[string]int{}
		var total int64
		for _, l := range ord.Lines {
			seen[l.SKU]++
			total += l.Quantity * l.UnitPriceCents
		}
		stored := 0 // lines whose request got no answer but that are there
		for sku, n := range seen {
			switch {
			case n > 1:
				res.Duplicated += n - 1
				problems = append(problems, fmt.Sprintf("%s stored %d times", sku, n))
			case rejected[sku]:
				res.Phantom++
				problems = append(problems, sku+" stored although its request was answered 409")
			case unknown[sku]:
				stored++
			case acked[sku] == 0:
				problems = append(problems, sku+" stored but never sent")
			}
		}
		for sku := range acked {
			if seen[sku] == 0 {
				res.Lost++
				problems = append(problems, sku+" acknowledged but missing")
			}
		}
		var wantTotal int64
		for _, p := range acked {
			wantTotal += p
		}
		want := int64(len(acked) + stored)
		if err == nil && (ord.LineCount != want || ord.Version != 1+want || (stored == 0 && total != wantTotal) || ord.TotalCents != total) {
			res.VersionsMatchAcked = false
			problems = append(problems, fmt.Sprintf("line_count %d, version %d, total %d: want %d, %d, %d",
				ord.LineCount, ord.Version, ord.TotalCents, want, 1+want, wantTotal))
		}
		if err == nil {
			if n, err := env.http.eventCount(ctx, id); err != nil {
				problems = append(problems, err.Error())
			} else {
				h.Events = n
			}
			if err := checkOrder(ctx, env, id, 1+want, want); err != nil {
				res.VersionsMatchAcked = false
				problems = append(problems, err.Error())
			}
		}
		h.Problem = strings.Join(firstN(problems, 5), "; ")
		res.PerOrder = append(res.PerOrder, h)
	}
}

// counters are the database's transaction counters.
type counters struct{ commits, rollbacks int64 }

func dbCounters(ctx context.Context, env *environment) (counters, error) {
	var c counters
	err := env.pool.QueryRow(ctx, `SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()`).
		Scan(&c.commits, &c.rollbacks)
	return c, err
}

// statsDelay is how late PostgreSQL may publish a backend's transaction counters: a
// backend reports when it goes idle, but at most once a second, and otherwise after
// 10 s of idleness (PGSTAT_IDLE_INTERVAL).
const statsDelay = 11 * time.Second

// countersAfter reads the counters once every transaction that ended before end has
// been published.
func countersAfter(ctx context.Context, env *environment, end time.Time) (counters, error) {
	select {
	case <-time.After(time.Until(end.Add(statsDelay))):
	case <-ctx.Done():
		return counters{}, ctx.Err()
	}
	return dbCounters(ctx, env)
}
