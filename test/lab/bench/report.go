package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// report is everything a run found; it is printed, and written as JSON and markdown.
type report struct {
	started  time.Time
	Mode     string      `json:"mode"`
	Started  string      `json:"started"`
	Seconds  float64     `json:"seconds"`
	Method   method      `json:"method"`
	Machine  machine     `json:"machine"`
	Postgres pgInfo      `json:"postgres"`
	Service  serviceInfo `json:"service"`
	Place    []placeRow  `json:"place_order,omitempty"`
	// PlaceWithConsumers is place order over HTTP at 8 workers with the service's
	// asynchronous consumers running in its process (the comparisons run without).
	PlaceWithConsumers *result `json:"place_order_with_consumers,omitempty"`
	// Profiles says where the service's CPU went in the profiled runs (-cpuprofile).
	Profiles []profileShares `json:"cpu_profiles,omitempty"`
	AddLine  []addLineRow    `json:"add_line,omitempty"`
	// Personal is place order with a contact against without one.
	Personal []personalRow `json:"personal_data,omitempty"`
	// AddLineStreams says how long the add-line scenario's streams were.
	AddLineStreams []string          `json:"add_line_streams,omitempty"`
	Contention     *contentionResult `json:"contention,omitempty"`
	Streams        []streamRow       `json:"stream_length,omitempty"`
	// StreamRatio is p50 add-line latency at the longest stream over the shortest.
	StreamRatio float64           `json:"stream_p50_ratio,omitempty"`
	Reads       []readRow         `json:"reads,omitempty"`
	Feed        *feedResult       `json:"feed,omitempty"`
	Consumers   *consumerResults  `json:"consumers,omitempty"`
	Partitions  *partitionResults `json:"partitions,omitempty"`
	Memory      memoryReport      `json:"service_memory"`
	Targets     []target          `json:"targets"`
	Passed      int               `json:"checks_passed"`
	Failures    []failure         `json:"check_failures"`
	Notes       []string          `json:"notes,omitempty"`
	// Timeline is the service's /metrics over the run, for bench-service.png.
	Timeline *timeline `json:"service_timeline,omitempty"`
}

type method struct {
	Concurrency []int   `json:"concurrency"`
	Rounds      int     `json:"rounds"`
	RunSeconds  float64 `json:"run_seconds,omitempty"`
	CountPerRun string  `json:"count_per_run,omitempty"`
	Summary     string  `json:"summary"`
}

type serviceInfo struct {
	URL      string `json:"url"`
	PID      int    `json:"pid"`
	MaxConns int    `json:"db_max_conns"`
	LogLevel string `json:"log_level"`
	LogLines int    `json:"log_lines"`
	Commit   string `json:"commit"`
}

type memoryReport struct {
	PeakMiB    float64          `json:"peak_rss_mib"`
	EndRSSMiB  float64          `json:"end_rss_mib"`
	ByScenario []scenarioMemory `json:"after_scenario"`
}

type scenarioMemory struct {
	Scenario string `json:"scenario"`
	memory
}

// target is one of the goals and whether this run meets it.
type target struct {
	Goal  string `json:"goal"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
}

type failure struct {
	Scenario string `json:"scenario"`
	Detail   string `json:"detail"`
}

func newReport(cfg config) *report {
	r := &report{started: time.Now(), Mode: cfg.mode(), Machine: readMachine()}
	r.Started = r.started.Format(time.RFC3339)
	r.Method = method{Concurrency: cfg.concurrency, Rounds: cfg.rounds, Summary: methodSummary(cfg)}
	if cfg.smoke {
		r.Method.CountPerRun = "max(10, 2 x workers) operations"
	} else {
		r.Method.RunSeconds = cfg.duration.Seconds()
	}
	return r
}

func methodSummary(cfg config) string {
	runs := fmt.Sprintf("%v runs", cfg.duration)
	if cfg.smoke {
		runs = "fixed-count runs"
	}
	return fmt.Sprintf("closed loop (each worker sends its next request when the last one is answered); "+
		"%s; comparisons interleaved: %d round(s), each running every contender at every concurrency "+
		"in a rotated order, median reported; durable commits (fsync, synchronous_commit on)", runs, cfg.rounds)
}

// check records a correctness check; detail says what is wrong when ok is false.
func (r *report) check(scenario string, ok bool, detail string) {
	if ok {
		r.Passed++
		return
	}
	r.fail(scenario, detail)
}

func (r *report) fail(scenario, detail string) {
	r.Failures = append(r.Failures, failure{Scenario: scenario, Detail: detail})
}

func (r *report) failedChecks() []failure { return r.Failures }

func (r *report) noteMemory(scenario string, m memory) {
	r.Memory.ByScenario = append(r.Memory.ByScenario, scenarioMemory{Scenario: scenario, memory: m})
}

// finish records the end state: memory, the service's health, the targets.
func (r *report) finish(ctx context.Context, env *environment) {
	r.Seconds = time.Since(r.started).Seconds()
	m := env.service.memory()
	r.Memory.PeakMiB, r.Memory.EndRSSMiB = m.PeakMiB, m.RSSMiB
	if !env.service.alive() {
		r.fail("service", "the service process died during the run")
	}
	log := strings.TrimSpace(env.service.out.String())
	if log != "" {
		r.Service.LogLines = strings.Count(log, "\n") + 1
	}
	r.Targets = r.targets()
	r.readProfiles(ctx, env.profiles)
}

// readProfiles sorts the samples of the CPU profiles taken during the HTTP runs at
// profileWorkers (place order, add line, and the CRUD server's place order, to see
// where the difference goes) into the rows of shareNames.
func (r *report) readProfiles(ctx context.Context, files []string) {
	for _, f := range files {
		name, cpu := "", 0.0
		switch base := filepath.Base(f); {
		case strings.HasPrefix(base, "cpu-personal-contact-"):
			r.readSealShare(ctx, f)
		case strings.HasPrefix(base, "cpu-place-"):
			if row, ok := r.placeAt(profileWorkers); ok && row.Concurrency == profileWorkers {
				name, cpu = "place order", row.HTTP.CPU.Service
			}
		case strings.HasPrefix(base, "cpu-crud-place-"):
			if row, ok := r.placeAt(profileWorkers); ok && row.Concurrency == profileWorkers {
				name, cpu = "place order (CRUD server)", row.CRUD.CPU.CRUD
			}
		case strings.HasPrefix(base, "cpu-add-line-"):
			for _, row := range r.AddLine {
				if row.Concurrency == profileWorkers {
					name, cpu = "add line", row.HTTP.CPU.Service
				}
			}
		}
		if name == "" {
			continue
		}
		shares, err := readProfileShares(ctx, f)
		if err != nil {
			logf("CPU profile %s: %v", f, err)
			continue
		}
		r.Profiles = append(r.Profiles, profileShares{Name: name, File: f, CPUPerOp: cpu, Shares: shares})
	}
}

// readSealShare sets the sealing CPU of the personal row at profileWorkers from the
// share of sealFrame in the with-contact run's profile.
func (r *report) readSealShare(ctx context.Context, file string) {
	for i, p := range r.Personal {
		if p.Concurrency != profileWorkers {
			continue
		}
		share, err := readFrameShare(ctx, file, sealFrame)
		if err != nil {
			logf("CPU profile %s: %v", file, err)
			return
		}
		r.Personal[i].SealCPU = share * p.Contact.CPU.Service
	}
}

// targets are the goals of the issue "Benchmarks: commands per second against the
// raw-SQL limit". They are reported, never enforced.
func (r *report) targets() []target {
	var ts []target
	if row, ok := r.placeAt(8); ok {
		ts = append(ts,
			target{Goal: fmt.Sprintf("place order at concurrency %d >= 1.0x the naive SQL path", row.Concurrency),
				Value: fmt.Sprintf("%.2fx", row.VsNaive), Met: row.VsNaive >= 1.0},
			target{Goal: fmt.Sprintf("place order at concurrency %d > 0.5x the floor", row.Concurrency),
				Value: fmt.Sprintf("%.2fx", row.VsFloor), Met: row.VsFloor > 0.5},
			target{Goal: fmt.Sprintf("place order at concurrency %d >= 0.7x the CRUD server", row.Concurrency),
				Value: fmt.Sprintf("%.2fx", row.VsCRUD), Met: row.VsCRUD >= 0.7})
		ts = append(ts, cpuTargets("place order", row.Concurrency, row.HTTP, row.CRUD)...)
	}
	for _, p := range r.Personal {
		if p.Concurrency != 8 {
			continue
		}
		ts = append(ts, target{Goal: "place order with a contact at concurrency 8: <= 1.10x the service CPU per place without one",
			Value: fmt.Sprintf("%.2fx", p.CPURatio), Met: p.CPURatio > 0 && p.CPURatio <= 1.10})
	}
	for _, a := range r.AddLine {
		if a.Concurrency != 8 {
			continue
		}
		ts = append(ts, target{Goal: "add line at concurrency 8 >= 0.6x the CRUD server",
			Value: fmt.Sprintf("%.2fx", a.VsCRUD), Met: a.VsCRUD >= 0.6})
		ts = append(ts, cpuTargets("add line", a.Concurrency, a.HTTP, a.CRUD)...)
	}
	if c := r.Contention; c != nil {
		ts = append(ts, target{Goal: "contention: zero lost or duplicated updates",
			Value: fmt.Sprintf("%d lost, %d duplicated, %d stored despite 409", c.Lost, c.Duplicated, c.Phantom),
			Met:   c.Lost == 0 && c.Duplicated == 0 && c.Phantom == 0 && c.VersionsMatchAcked})
	}
	if n := len(r.Streams); n >= 2 {
		a, b := r.Streams[0], r.Streams[n-1]
		ts = append(ts, target{Goal: fmt.Sprintf("add-line (return=minimal) p50 at %s events <= 1.5x that at %s", thousands(b.Length), thousands(a.Length)),
			Value: fmt.Sprintf("%.2fx (%.2f ms vs %.2f ms)", r.StreamRatio, b.AddLine.P50, a.AddLine.P50), Met: r.StreamRatio <= 1.5},
			target{Goal: fmt.Sprintf("first command on an uncached %s-event order (after a restart) <= 5 ms p50", thousands(b.Length)),
				Value: fmt.Sprintf("%.2f ms (%d of %d orders had a snapshot)", b.RestartP50, b.Snapshots, b.Orders), Met: b.RestartP50 <= 5})
	}
	return ts
}

// cpuTargets compares the CPU per request of the service and its PostgreSQL with the
// CRUD server's (issue 14: at most 1.5x and 2x). The verdict is on the medians; the
// service's ratio in each round is shown beside it (the two run back to back in every
// round, so a drift of the machine's speed moves both).
func cpuTargets(op string, conc int, svcRes, crudRes result) []target {
	svc, crud := svcRes.CPU, crudRes.CPU
	if crud.CRUD <= 0 {
		return nil
	}
	value := fmt.Sprintf("%.2fx (%.0f vs %.0f µs)", svc.Service/crud.CRUD, 1000*svc.Service, 1000*crud.CRUD)
	if rounds := roundRatios(svcRes.CPURuns, crudRes.CPURuns); len(rounds) > 1 {
		value += "; by round " + strings.Join(rounds, ", ")
	}
	ts := []target{{Goal: fmt.Sprintf("%s at concurrency %d: service CPU per request <= 1.5x the CRUD server's", op, conc),
		Value: value, Met: svc.Service <= 1.5*crud.CRUD}}
	if svc.Postgres != nil && crud.Postgres != nil && *crud.Postgres > 0 {
		ts = append(ts, target{Goal: fmt.Sprintf("%s at concurrency %d: PostgreSQL CPU per request <= 2x the CRUD server's", op, conc),
			Value: fmt.Sprintf("%.2fx (%.0f vs %.0f µs)", *svc.Postgres / *crud.Postgres, 1000**svc.Postgres, 1000**crud.Postgres),
			Met:   *svc.Postgres <= 2**crud.Postgres})
	}
	return ts
}

// roundRatios are the service's CPU per request over the CRUD server's, round by round
// (runs of the same index ran in the same round); none when the runs do not pair up.
func roundRatios(svc, crud []cpuPerOp) []string {
	if len(svc) != len(crud) {
		return nil
	}
	out := make([]string, 0, len(svc))
	for i := range svc {
		if crud[i].CRUD <= 0 {
			return nil
		}
		out = append(out, fmt.Sprintf("%.2fx", svc[i].Service/crud[i].CRUD))
	}
	return out
}

// placeAt is the place-order row at concurrency c, or the nearest one measured.
func (r *report) placeAt(c int) (placeRow, bool) {
	if len(r.Place) == 0 {
		return placeRow{}, false
	}
	best := r.Place[0]
	for _, row := range r.Place {
		if abs(row.Concurrency-c) < abs(best.Concurrency-c) {
			best = row
		}
	}
	return best, true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// thousands writes 10000 as 10,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var parts []string
	for len(s) > 3 {
		parts = append([]string{s[len(s)-3:]}, parts...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, parts...), ",")
}

// statuses prints status counts in a stable order.
func statuses(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
