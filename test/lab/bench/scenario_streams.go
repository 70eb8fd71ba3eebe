package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// streamRow is add-line latency on orders whose streams hold Length events.
type streamRow struct {
	Length    int     `json:"length"`
	Orders    int     `json:"orders"`
	MaxLength int     `json:"max_length_at_end"`
	AddLine   result  `json:"add_line"`
	ColdP50   float64 `json:"cold_p50_ms"` // the first command after the fill: the cache does not know the lines yet
	// The first command after a restart of the service (nothing cached in memory; the
	// state comes from its snapshot and the events after it), with return=minimal.
	RestartP50 float64 `json:"restart_cold_p50_ms"`
	Snapshots  int     `json:"orders_with_snapshot"`
	Get        result  `json:"get_order"`
	RespKiB    float64 `json:"response_kib"`
}

// minOrdersPerLength is the fewest orders of one length, so that the first command
// after the restart (one per order) is a median of several, not one sample.
const minOrdersPerLength = 5

// streamRoom is how many measured lines one order of a stream of length events takes
// at most: a tenth of its length, so that the length stays what it says, and no more
// than order.MaxLines allows. The order holds length-1 lines after its warm-up line
// and length after the line that follows the restart; parseFlags refuses lengths
// that leave no room.
func streamRoom(length int) int { return max(1, min(length/10, order.MaxLines-length)) }

// streamOrders is how many orders of one length the scenario uses for samples
// measured lines: enough that none takes more than streamRoom of them.
func streamOrders(length, samples int) int {
	room := streamRoom(length)
	return max(minOrdersPerLength, (samples+room-1)/room)
}

// runStreams is scenario 5: add-line latency at concurrency 1 on orders whose streams
// hold 10, 100, 500 and 990 events (an order holds at most order.MaxLines lines, so
// its stream at most 1,001 events). Each length gets enough orders that none grows by
// more than a tenth while it is measured, nor past order.MaxLines, and the lengths take
// turns, in ten rounds, so that a noisy moment of the machine does not land on one
// length only.
func runStreams(ctx context.Context, env *environment, rep *report) error {
	cfg := env.cfg
	raw := newRawWriter(env.pool)
	type group struct {
		length    int
		ids       []string
		added     []int
		cold      []time.Duration
		restart   []time.Duration
		snaps     int
		lat       []sample
		get       []sample
		next      int
		gnext     int
		respBytes int
	}
	groups := make([]*group, len(cfg.lengths))
	for gi, length := range cfg.lengths {
		if length > maxStreamLength {
			return fmt.Errorf("stream length %d: an order holds at most order.MaxLines = %d lines; the longest length is %d", length, order.MaxLines, maxStreamLength)
		}
		n := streamOrders(length, cfg.samples)
		ids, err := prefill(ctx, env, n, 0)
		if err != nil {
			return err
		}
		g := &group{length: length, ids: ids, added: make([]int, n)}
		groups[gi] = g
		// placed (1) + filled (length-2) + the warm-up line (1) = length events.
		begin := time.Now()
		if err := parallel(ctx, 4, len(ids), func(k int) error {
			return raw.fillLines(ctx, uuid.MustParse(ids[k]), 1, length-2)
		}); err != nil {
			return err
		}
		for _, id := range ids[:min(3, len(ids))] {
			if err := checkOrder(ctx, env, id, int64(length-1), int64(length-2)); err != nil {
				return fmt.Errorf("after filling: %w", err)
			}
		}
		for _, id := range ids {
			t0 := time.Now()
			a, err := env.http.addLine(ctx, id, "warm-up", 1, 100)
			if o := expect(a, err, http.StatusOK); o.err != nil {
				return fmt.Errorf("warm-up line on order %s: %w", id, o.err)
			}
			g.cold = append(g.cold, time.Since(t0))
		}
		logf("  streams: %d order(s) of %d events ready in %v", n, length, time.Since(begin).Round(time.Millisecond))
	}

	// Snapshots are written in the background after the warm-up lines folded the
	// streams; then a restart empties the service's cache, and the first command on each
	// order is what a cold long stream costs.
	// Only the streams whose warm-up folded at least the snapshot interval must have one;
	// wait for those.
	var want []string
	for _, g := range groups {
		if g.length-2 >= serviceSnapshotEvery {
			want = append(want, g.ids...)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM snapshots WHERE stream_type = 'order' AND stream_id = ANY($1)`, want).Scan(&n); err != nil {
			return fmt.Errorf("count snapshots: %w", err)
		}
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, g := range groups {
		if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM snapshots WHERE stream_type = 'order' AND stream_id = ANY($1)`, g.ids).Scan(&g.snaps); err != nil {
			return fmt.Errorf("count snapshots: %w", err)
		}
	}
	if err := env.restartService(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	for _, g := range groups {
		for k, id := range g.ids {
			t0 := time.Now()
			if o := env.http.addLineMinimal(ctx, id, "after-restart", 1, 100); o.err != nil {
				return fmt.Errorf("first line after the restart on order %s: %w", id, o.err)
			}
			g.restart = append(g.restart, time.Since(t0))
			g.added[k]++
		}
	}

	rounds := min(10, cfg.samples)
	for round := range rounds {
		for _, g := range groups {
			share := cfg.samples/rounds + btoi(round < cfg.samples%rounds)
			g.lat = append(g.lat, runLoad(ctx, env, load{name: "add line", workers: 1, count: share,
				newOp: func(int) func(context.Context) outcome {
					return func(ctx context.Context) outcome {
						k := g.next % len(g.ids)
						g.next++
						o := env.http.addLineMinimal(ctx, g.ids[k], fmt.Sprintf("s-%d", g.next), 1, 100)
						if o.err == nil {
							g.added[k]++
						}
						return o
					}
				}}))
			getShare := max(1, min(share, 100/rounds)) // a GET of 1,000 lines takes a few ms
			g.get = append(g.get, runLoad(ctx, env, load{name: "get order", workers: 1, count: getShare,
				newOp: func(int) func(context.Context) outcome {
					return func(ctx context.Context) outcome {
						g.gnext++
						a, err := env.http.do(ctx, http.MethodGet, "/orders/"+g.ids[g.gnext%len(g.ids)], nil)
						g.respBytes = len(a.body)
						return expect(a, err, http.StatusOK)
					}
				}}))
		}
	}

	for _, g := range groups {
		row := streamRow{Length: g.length, Orders: len(g.ids), MaxLength: g.length + slices.Max(g.added)}
		row.AddLine = summarize("add line", 1, []sample{merge(g.lat)})
		row.Get = summarize("get order", 1, []sample{merge(g.get)})
		slices.Sort(g.cold)
		row.ColdP50 = ms(percentile(g.cold, 50))
		slices.Sort(g.restart)
		row.RestartP50 = ms(percentile(g.restart, 50))
		row.Snapshots = g.snaps
		row.RespKiB = float64(g.respBytes) / 1024
		rep.Streams = append(rep.Streams, row)
		rep.check("streams", row.AddLine.Errors == 0 && row.Get.Errors == 0, errorsOf(row.AddLine)+"; "+errorsOf(row.Get))
		id := g.ids[0]
		if err := checkOrder(ctx, env, id, int64(g.length+g.added[0]), int64(g.length-1+g.added[0])); err != nil {
			rep.check("streams", false, err.Error())
		}
		logf("  streams: %6d events: add line (return=minimal) p50 %7.2f ms p99 %7.2f ms (first after fill %7.2f ms, first after restart %7.2f ms, %d/%d snapshots), GET p50 %7.2f ms, GET response %.1f KiB",
			row.Length, row.AddLine.P50, row.AddLine.P99, row.ColdP50, row.RestartP50, row.Snapshots, row.Orders, row.Get.P50, row.RespKiB)
	}
	first, last := rep.Streams[0], rep.Streams[len(rep.Streams)-1]
	rep.StreamRatio = ratio(last.AddLine.P50, first.AddLine.P50)
	return nil
}

// serviceSnapshotEvery is aggregatestore.DefaultSnapshotEvery, the service's interval.
const serviceSnapshotEvery = 100

// merge joins the samples of several runs of one measurement into one.
func merge(runs []sample) sample {
	out := sample{labels: map[string]int{}}
	for _, s := range runs {
		out.latencies = append(out.latencies, s.latencies...)
		out.elapsed += s.elapsed
		out.errors += s.errors
		out.bytes += s.bytes
		out.firstErrs = append(out.firstErrs, s.firstErrs...)
		for k, v := range s.labels {
			out.labels[k] += v
		}
		out.cpu.service += s.cpu.service
		out.cpu.postgres += s.cpu.postgres
		out.cpu.harness += s.cpu.harness
		out.cpu.busy += s.cpu.busy
		out.cpu.steal += s.cpu.steal
		out.cpu.total += s.cpu.total
		out.cpu.pgKnown = s.cpu.pgKnown
		out.cpu.svcReads += s.cpu.svcReads
		out.cpu.svcWrites += s.cpu.svcWrites
	}
	return out
}

// parallel calls fn(0..n-1) on up to workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(k int) error) error {
	var mu sync.Mutex
	var first error
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				if err := fn(k); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for k := range n {
		if ctx.Err() != nil {
			break
		}
		next <- k
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
