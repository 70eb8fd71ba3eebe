package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// feedResult is the feed scenario: one SSE client following the log while orders are
// placed, and GET /events page latency.
type feedResult struct {
	Writers       int      `json:"writers"`
	Placed        int      `json:"events_written"`
	Delivered     int      `json:"events_delivered"`
	DeliveredPerS float64  `json:"events_delivered_per_s"`
	WrittenPerS   float64  `json:"events_written_per_s"`
	LagP50        float64  `json:"lag_p50_ms"` // recorded_at (command start) to arrival at the client
	LagP99        float64  `json:"lag_p99_ms"`
	CatchUpMs     float64  `json:"catch_up_after_load_ms"` // from the load's end to the last event's arrival
	Page          []result `json:"page"`
}

// runFeed is the feed scenario: GET /events/stream followed by one client while 8
// workers place orders (every event must arrive once, in order), then GET
// /events?after=<random>&limit=100 at each concurrency.
func runFeed(ctx context.Context, env *environment, rep *report) error {
	var start int64
	if err := env.pool.QueryRow(ctx, `SELECT coalesce(max(global_position), 0) FROM events`).Scan(&start); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, env.http.base+"/events/stream?after="+strconv.FormatInt(start, 10), nil)
	if err != nil {
		return err
	}
	// The harness's transport sends its staff token; no timeout, the stream is long.
	resp, err := (&http.Client{Transport: env.http.hc.Transport}).Do(req) //nolint:bodyclose // closed by the defer below; the reading goroutine hides that from the linter
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /events/stream: %d", resp.StatusCode)
	}
	type arrival struct {
		pos int64
		lag time.Duration
		at  time.Time
	}
	var mu sync.Mutex
	var got []arrival
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var pos int64
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				pos, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "data: "):
				var e struct {
					RecordedAt time.Time `json:"recorded_at"`
				}
				_ = json.Unmarshal([]byte(line[6:]), &e)
				now := time.Now()
				mu.Lock()
				got = append(got, arrival{pos: pos, lag: now.Sub(e.RecordedAt), at: now})
				mu.Unlock()
			}
		}
	}()

	const writers = 8
	l := load{name: "place (feed)", workers: writers, newOp: func(i int) func(context.Context) outcome {
		customer := fmt.Sprintf("bench-feed-%d", i)
		return func(ctx context.Context) outcome { _, o := env.http.placeOrder(ctx, customer); return o }
	}}
	if env.cfg.smoke {
		l.count = env.cfg.count(writers)
	} else {
		l.duration = 2 * env.cfg.duration
	}
	began := time.Now()
	s := runLoad(ctx, env, l)
	loadEnd := time.Now()
	var end int64
	if err := env.pool.QueryRow(ctx, `SELECT coalesce(max(global_position), 0) FROM events`).Scan(&end); err != nil {
		return err
	}
	var want []int64
	rows, err := env.pool.Query(ctx, `SELECT global_position FROM events WHERE global_position > $1 AND global_position <= $2 ORDER BY 1`, start, end)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p int64
		_ = rows.Scan(&p)
		want = append(want, p)
	}
	rows.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	mu.Lock()
	arr := slices.Clone(got)
	mu.Unlock()
	positions := make([]int64, 0, len(arr))
	lags := make([]time.Duration, 0, len(arr))
	for _, a := range arr {
		if a.pos <= end {
			positions = append(positions, a.pos)
			lags = append(lags, a.lag)
		}
	}
	rep.check("feed", slices.Equal(positions, want), fmt.Sprintf("the stream delivered %d events, the log has %d after %d (each once, in order, expected)", len(positions), len(want), start))
	rep.check("feed", s.errors == 0, fmt.Sprintf("place order under the feed: %d errors %v", s.errors, s.firstErrs))
	res := feedResult{Writers: writers, Placed: len(want), Delivered: len(positions)}
	if len(arr) > 0 {
		last := arr[len(positions)-1].at
		res.DeliveredPerS = float64(len(positions)) / last.Sub(began).Seconds()
		res.CatchUpMs = float64(max(0, last.Sub(loadEnd)).Microseconds()) / 1000
	}
	res.WrittenPerS = float64(len(want)) / loadEnd.Sub(began).Seconds()
	slices.Sort(lags)
	if len(lags) > 0 {
		res.LagP50 = float64(lags[len(lags)/2].Microseconds()) / 1000
		res.LagP99 = float64(lags[len(lags)*99/100].Microseconds()) / 1000
	}
	logf("  feed: %d events written at %.0f/s by %d clients; delivered %d at %.0f/s; lag p50 %.1f ms p99 %.1f ms; caught up %.0f ms after the load",
		res.Placed, res.WrittenPerS, writers, res.Delivered, res.DeliveredPerS, res.LagP50, res.LagP99, res.CatchUpMs)

	page := func(int) func(context.Context) outcome {
		return func(ctx context.Context) outcome {
			after := rand.Int64N(max(end-100, 1)) //nolint:gosec // load pattern, not security
			a, err := env.http.do(ctx, http.MethodGet, "/events?limit=100&after="+strconv.FormatInt(after, 10), nil)
			return expect(a, err, http.StatusOK)
		}
	}
	for _, conc := range env.cfg.concurrency {
		pl := load{name: "feed page", workers: conc, newOp: page}
		if env.cfg.smoke {
			pl.count = env.cfg.count(conc)
		} else {
			pl.duration = env.cfg.duration
		}
		r := summarize("GET /events?limit=100", conc, []sample{runLoad(ctx, env, pl)})
		rep.check("feed", r.Errors == 0 && r.Ops > 0, errorsOf(r))
		logf("  feed page c=%-3d %8.1f req/s  p50 %6.2f ms  p99 %7.2f ms", conc, r.RPS, r.P50, r.P99)
		res.Page = append(res.Page, r)
	}
	rep.Feed = &res
	return nil
}
