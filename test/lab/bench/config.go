package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/example/orders/domain/order"
	"github.com/example/orders/test/lab/internal/repo"
)

// defaultLengths are the growing-stream scenario's stream lengths in full mode. An
// order holds at most order.MaxLines (1,000) lines, so its stream at most 1,001
// events: an order of 990 events has room for 10 measured lines (streamRoom), and 30
// of them take the default 300 samples; maxStreamLength is the longest possible.
const defaultLengths = "10,100,500,990"

// maxStreamLength is the longest stream the growing-stream scenario can measure: n
// events are n-1 lines once the warm-up line is in, the line after the restart makes
// n, and each order must take at least one measured line.
const maxStreamLength = order.MaxLines - 1

// config is what the flags say. Smoke mode replaces durations by small fixed counts.
type config struct {
	smoke        bool
	duration     time.Duration // one measured run (full mode)
	rounds       int           // interleaved repetitions of each comparison; the median is reported
	concurrency  []int
	contention   time.Duration // the hot-orders run (full mode)
	lengths      []int         // stream lengths for the growing-stream scenario
	samples      int           // add-line samples per stream length
	outDir       string
	chartsDir    string
	only         []string // scenario names; empty: all
	root         string   // the repository root (the service's module)
	maxConns     int      // the service's DB_MAX_CONNS
	serverLogTee bool     // copy the service's output to stderr
	updateDoc    bool     // rewrite the generated part of docs/benchmarks.md
	compare      string   // an earlier run's JSON to compare with
	render       string   // a run's JSON to render again instead of running
	cpuProfile   bool     // save CPU profiles of the service (PPROF_ADDR)
}

func (c config) mode() string {
	if c.smoke {
		return "smoke"
	}
	return "full"
}

func (c config) wants(name string) bool { return len(c.only) == 0 || slices.Contains(c.only, name) }

func (c config) maxConcurrency() int { return slices.Max(c.concurrency) }

func (c config) docPath() string { return filepath.Join(c.root, "docs", "benchmarks.md") }

// count is the number of operations of one smoke run at concurrency n: a handful per
// worker, so the whole smoke run stays at a few hundred requests per scenario.
func (c config) count(n int) int { return max(10, 2*n) }

func parseFlags(args []string) (config, error) {
	root, err := repo.Root()
	if err != nil {
		return config{}, err
	}
	var c config
	var conc, lengths, only string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), "usage: make bench BENCH_FLAGS='[flags]' (or bin/lab/bench [flags] from the repository root)\n\n"+
			"Benchmarks the order service against raw SQL on a durable PostgreSQL that it starts\n"+
			"(or BENCH_DATABASE_URL). See docs/benchmarks.md.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.smoke, "smoke", false, "tiny fixed counts, stream lengths 10 and 100, one round: checks correctness in well under a minute (CI)")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "length of one measured run in full mode")
	fs.IntVar(&c.rounds, "rounds", 3, "interleaved repetitions of each comparison in full mode (median reported)")
	fs.StringVar(&conc, "concurrency", "1,8,32", "worker counts, comma-separated")
	fs.DurationVar(&c.contention, "contention-duration", 10*time.Second, "length of the hot-orders run in full mode")
	fs.StringVar(&lengths, "lengths", defaultLengths, fmt.Sprintf("stream lengths (events) for the growing-stream scenario in full mode, each at most %d (order.MaxLines lines, less the lines the scenario adds)", maxStreamLength))
	fs.IntVar(&c.samples, "samples", 300, "add-line samples per stream length in full mode")
	fs.StringVar(&c.outDir, "out", filepath.Join(root, "test", "lab", "bench", "out"), "directory for the JSON, markdown and server log")
	fs.StringVar(&c.chartsDir, "charts", filepath.Join(root, "docs"), "directory for bench-latency.svg and bench-stream-length.svg (full mode only)")
	fs.StringVar(&only, "only", "", "run only these scenarios, comma-separated: "+scenarioNames())
	fs.BoolVar(&c.serverLogTee, "server-log", false, "copy the service's log lines to stderr")
	fs.BoolVar(&c.cpuProfile, "cpuprofile", false, "full mode: save CPU profiles of the service (through its PPROF_ADDR listener) during the first HTTP runs at 8 workers, to -out/cpu-*.pprof")
	fs.StringVar(&c.compare, "compare", "", "an earlier run's JSON (e.g. test/lab/bench/out/full-<time>.json): print its headline figures next to this run's")
	fs.StringVar(&c.render, "render", "", "a full run's JSON: write its markdown and charts again (and with -update-doc the doc) without running anything")
	fs.BoolVar(&c.updateDoc, "update-doc", false, "full mode: replace the generated part of docs/benchmarks.md with this run's tables")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.root = root
	if c.concurrency, err = parseInts(conc); err != nil {
		return c, fmt.Errorf("-concurrency: %w", err)
	}
	if c.lengths, err = parseInts(lengths); err != nil {
		return c, fmt.Errorf("-lengths: %w", err)
	}
	if only != "" {
		for _, name := range strings.Split(only, ",") {
			name = strings.TrimSpace(name)
			if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.name == name }) {
				return c, fmt.Errorf("-only: no scenario %q; there are %s", name, scenarioNames())
			}
			c.only = append(c.only, name)
		}
	}
	if c.smoke {
		c.rounds = 1
		c.lengths = []int{10, 100}
		c.samples = 20
	}
	for _, l := range c.lengths {
		if l < 3 {
			return c, fmt.Errorf("-lengths: %d is too short (the order needs its placement and a warm-up line)", l)
		}
		if l > maxStreamLength {
			return c, fmt.Errorf("-lengths: %d events cannot be measured: an order holds at most order.MaxLines = %d lines, and an order "+
				"whose stream holds n events has n-1 lines after its warm-up line, one more after the restart and at least one measured "+
				"line to take, so the longest length is %d", l, order.MaxLines, maxStreamLength)
		}
	}
	if c.rounds < 1 || c.samples < 1 || c.duration <= 0 || c.contention <= 0 {
		return c, fmt.Errorf("-rounds, -samples, -duration and -contention-duration must be positive")
	}
	c.maxConns = c.maxConcurrency() + 8
	return c, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func scenarioNames() string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}
