package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is what one operation reports. Every operation is counted under its label
// (an HTTP status such as "201", "409 concurrency_conflict", or "ok" for SQL); one
// with err set is an error: a transport or SQL failure, or an answer the scenario did
// not expect.
type outcome struct {
	label string
	bytes int
	err   error
}

// load is one closed-loop run: workers goroutines, each calling its op back to back
// until the duration is over or, with count > 0, until count operations have been
// started in total.
type load struct {
	name     string
	workers  int
	duration time.Duration
	count    int
	// newOp returns worker i's operation; it may keep per-worker state.
	newOp func(i int) func(ctx context.Context) outcome
}

// sample is the raw measurement of one run.
type sample struct {
	latencies []time.Duration
	elapsed   time.Duration
	labels    map[string]int
	errors    int
	firstErrs []string
	bytes     int64
	cpu       cpuShare
}

// runLoad runs l and returns its measurement. Latency is measured around each call;
// elapsed is from the start of the first to the end of the last operation, so ops/s
// counts the operations in flight at the deadline too (they are all recorded). CPU is
// counted until the service's consumers have caught up with the run's events.
func runLoad(ctx context.Context, env *environment, l load) sample {
	ops := make([]func(context.Context) outcome, l.workers)
	for i := range ops {
		ops[i] = l.newOp(i)
	}
	type local struct {
		lat    []time.Duration
		labels map[string]int
		errs   []string
		nerr   int
		bytes  int64
	}
	locals := make([]local, l.workers)
	var started atomic.Int64
	var wg sync.WaitGroup
	cpu0 := env.cpuNow()
	begin := time.Now()
	deadline := begin.Add(l.duration)
	for i := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo := &locals[i]
			lo.labels = map[string]int{}
			for ctx.Err() == nil {
				if l.count > 0 {
					if started.Add(1) > int64(l.count) {
						return
					}
				} else if !time.Now().Before(deadline) {
					return
				}
				t0 := time.Now()
				o := ops[i](ctx)
				lo.lat = append(lo.lat, time.Since(t0))
				lo.labels[o.label]++
				lo.bytes += int64(o.bytes)
				if o.err != nil {
					lo.nerr++
					if len(lo.errs) < 3 {
						lo.errs = append(lo.errs, o.err.Error())
					}
				}
			}
		}()
	}
	wg.Wait()
	s := sample{elapsed: time.Since(begin), labels: map[string]int{}}
	env.settle(ctx, 30*time.Second)
	s.cpu = env.cpuNow().since(cpu0)
	for _, lo := range locals {
		s.latencies = append(s.latencies, lo.lat...)
		for k, v := range lo.labels {
			s.labels[k] += v
		}
		s.errors += lo.nerr
		s.bytes += lo.bytes
		for _, e := range lo.errs {
			if len(s.firstErrs) < 5 {
				s.firstErrs = append(s.firstErrs, e)
			}
		}
	}
	return s
}

// result is one line of a table: a run, or the median of interleaved runs.
type result struct {
	Name        string         `json:"name"`
	Concurrency int            `json:"concurrency"`
	Runs        int            `json:"runs"`
	Ops         int            `json:"ops"`
	Seconds     float64        `json:"seconds"`
	RPS         float64        `json:"rps"`
	RPSMin      float64        `json:"rps_min"`
	RPSMax      float64        `json:"rps_max"`
	P50         float64        `json:"p50_ms"`
	P95         float64        `json:"p95_ms"`
	P99         float64        `json:"p99_ms"`
	Max         float64        `json:"max_ms"`
	Errors      int            `json:"errors"`
	Status      map[string]int `json:"status"`
	FirstErrors []string       `json:"first_errors,omitempty"`
	BytesPerOp  float64        `json:"bytes_per_op"`
	CPU         cpuPerOp       `json:"cpu_ms_per_op"`
	// CPURuns are the runs' own CPU per operation, in round order (CPU is their median).
	CPURuns []cpuPerOp `json:"cpu_ms_per_op_runs,omitempty"`
}

// summarize turns the runs of one (name, concurrency) into a result: the median of
// each figure over the runs, counts summed.
func summarize(name string, conc int, runs []sample) result {
	r := result{Name: name, Concurrency: conc, Runs: len(runs), Status: map[string]int{}}
	var rps, p50, p95, p99, mx, bpo []float64
	var cpus []cpuPerOp
	for _, s := range runs {
		n := len(s.latencies)
		r.Ops += n
		r.Seconds += s.elapsed.Seconds()
		r.Errors += s.errors
		for k, v := range s.labels {
			r.Status[k] += v
		}
		for _, e := range s.firstErrs {
			if len(r.FirstErrors) < 5 {
				r.FirstErrors = append(r.FirstErrors, e)
			}
		}
		if n == 0 {
			continue
		}
		lat := slices.Clone(s.latencies)
		slices.Sort(lat)
		rps = append(rps, float64(n)/s.elapsed.Seconds())
		p50 = append(p50, ms(percentile(lat, 50)))
		p95 = append(p95, ms(percentile(lat, 95)))
		p99 = append(p99, ms(percentile(lat, 99)))
		mx = append(mx, ms(lat[n-1]))
		bpo = append(bpo, float64(s.bytes)/float64(n))
		cpus = append(cpus, s.cpu.perOp(n))
	}
	if len(rps) == 0 {
		return r
	}
	r.RPS, r.RPSMin, r.RPSMax = median(rps), slices.Min(rps), slices.Max(rps)
	r.P50, r.P95, r.P99, r.Max, r.BytesPerOp = median(p50), median(p95), median(p99), median(mx), median(bpo)
	r.CPU, r.CPURuns = medianCPU(cpus), cpus
	return r
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// errorsOf says what went wrong in r, for a failed check.
func errorsOf(r result) string {
	return fmt.Sprintf("%s at concurrency %d: %d error(s) in %d operations, statuses %v, first: %v",
		r.Name, r.Concurrency, r.Errors, r.Ops, r.Status, r.FirstErrors)
}
