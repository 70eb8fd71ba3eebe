package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	contentionClients = 32
	contentionOrders  = 4
)

// contentionResult is scenario 4.
type contentionResult struct {
	Clients     int     `json:"clients"`
	Orders      int     `json:"orders"`
	Load        result  `json:"load"`
	Successes   int     `json:"successes"`
	SuccessRate float64 `json:"successes_per_second"`
	Conflicts   int     `json:"conflicts_409"`
	SuccessP99  float64 `json:"success_p99_ms"`
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
	ID        string `json:"id"`
	Acked     int    `json:"acknowledged"`
	Conflicts int    `json:"conflicts"`
	LineCount int64  `json:"line_count"`
	Version   int64  `json:"version"`
	Events    int    `json:"events"`
	Problem   string `json:"problem,omitempty"`
}

// hotClient is one client's record of what it sent and what it was told.
type hotClient struct {
	order    int
	n        int
	acked    map[string]int64 // sku -> price, answered 200
	rejected map[string]bool  // answered 409 concurrency_conflict: must not be stored
	unknown  map[string]bool  // no answer: may be stored once, or not at all
	okLat    []time.Duration
}

// runContention is scenario 4: 32 clients add lines to 4 hot orders (no If-Match, so
// the service retries lost races itself), then every order is checked against what
// the clients were told.
func runContention(ctx context.Context, env *environment, rep *report) error {
	ids, err := prefill(ctx, env, contentionOrders, 0)
	if err != nil {
		return err
	}
	clients := make([]*hotClient, contentionClients)
	for i := range clients {
		clients[i] = &hotClient{order: i % contentionOrders, acked: map[string]int64{}, rejected: map[string]bool{}, unknown: map[string]bool{}}
	}
	before, beforeErr := dbCounters(ctx, env)
	l := load{name: "contention", workers: contentionClients, newOp: func(i int) func(context.Context) outcome {
		c := clients[i]
		return func(ctx context.Context) outcome {
			c.n++
			sku, price := fmt.Sprintf("hot-%d-%d", i, c.n), int64(100+i)
			t0 := time.Now()
			a, err := env.http.addLine(ctx, ids[c.order], sku, 1, price)
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
	res := contentionResult{Clients: contentionClients, Orders: contentionOrders, Load: summarize("add line, 4 hot orders", contentionClients, []sample{s})}
	var okLat []time.Duration
	for _, c := range clients {
		res.Successes += len(c.acked)
		res.Conflicts += len(c.rejected)
		okLat = append(okLat, c.okLat...)
	}
	slices.Sort(okLat)
	res.SuccessP99 = ms(percentile(okLat, 99))
	res.SuccessRate = float64(res.Successes) / s.elapsed.Seconds()
	logf("  contention: %d clients on %d orders: %d added (%.1f/s), %d answered 409 concurrency_conflict, p99 %.1f ms",
		res.Clients, res.Orders, res.Successes, res.SuccessRate, res.Conflicts, res.Load.P99)

	end := time.Now()

	checkHotOrders(ctx, env, ids, clients, &res)
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
func checkHotOrders(ctx context.Context, env *environment, ids []string, clients []*hotClient, res *contentionResult) {
	res.VersionsMatchAcked = true
	for k, id := range ids {
		h := hotOrder{ID: id}
		acked, rejected, unknown := map[string]int64{}, map[string]bool{}, map[string]bool{}
		for _, c := range clients {
			if c.order != k {
				continue
			}
			for s, p := range c.acked {
				acked[s] = p
			}
			for s := range c.rejected {
				rejected[s] = true
			}
			for s := range c.unknown {
				unknown[s] = true
			}
		}
		h.Acked, h.Conflicts = len(acked), len(rejected)
		var problems []string
		ord, err := env.http.getOrder(ctx, "/orders/"+id)
		if err != nil {
			problems = append(problems, err.Error())
		}
		h.LineCount, h.Version = ord.LineCount, ord.Version
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
