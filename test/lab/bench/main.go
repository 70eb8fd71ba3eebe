// Command bench measures the order service's commands per second and latencies against
// what PostgreSQL alone allows on the same machine, in the same run:
//
//	make bench          # full mode, for people: a few minutes, writes docs/bench-*.svg
//	make bench-smoke    # tiny counts, correctness checks only; CI runs it
//
// (make builds it from the lab's module into bin/lab/bench and runs it from the
// repository root; BENCH_FLAGS passes flags.)
//
// It provisions a durable PostgreSQL (test/postgres.Start; fsync and synchronous_commit
// on, removed at the end) unless BENCH_DATABASE_URL names one, builds ./cmd/orders,
// starts it with `serve --migrate` on a free loopback port and drives it over HTTP
// with a closed-loop load generator (N workers sending requests back to back). The
// baselines are the same writes issued straight through pgx: the naive statement-by-
// statement transaction and the floor (BEGIN; one INSERT into events; COMMIT).
//
// It prints a table, writes JSON and a pasteable markdown table to -out, and in full
// mode the charts to -charts. It exits 1 when a correctness check fails (lost or
// duplicated updates, unexpected answers), never because of performance; 2 when it
// cannot set up. docs/benchmarks.md explains the method and the numbers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if cfg.render != "" {
		if err := rerender(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cfg)
	stop()
	os.Exit(code)
}

// run does everything and returns the exit code. Whatever it starts, it stops, also
// when ctx ends (Ctrl-C) or a scenario fails.
func run(ctx context.Context, cfg config) int {
	logf("mode %s; writing results to %s", cfg.mode(), cfg.outDir)
	rep := newReport(cfg)
	printMachine(rep.Machine)

	env, cleanup, err := setUp(ctx, cfg, rep)
	defer cleanup()
	if err != nil {
		logf("setup failed: %v", err)
		return 2
	}

	interval := time.Second
	if cfg.smoke {
		interval = 200 * time.Millisecond
	}
	rep.Timeline = &timeline{}
	stopScraping := scrapeMetrics(ctx, env.service.URL, interval, rep.Timeline)
	for _, s := range scenarios {
		if !cfg.wants(s.name) {
			continue
		}
		rep.Timeline.mark(s.name)
		if ctx.Err() != nil {
			logf("interrupted")
			return 2
		}
		logf("scenario %s: %s", s.name, s.title)
		if err := s.run(ctx, env, rep); err != nil {
			rep.fail(s.name, err.Error())
			logf("scenario %s: %v", s.name, err)
		}
		rep.noteMemory(s.name, env.service.memory())
	}
	stopScraping()
	rep.finish(ctx, env)

	printReport(os.Stdout, rep)
	if cfg.compare != "" {
		if err := compareWith(os.Stdout, cfg.compare, rep); err != nil {
			logf("-compare: %v", err)
		}
	}
	if err := writeOutputs(cfg, rep); err != nil {
		logf("writing results: %v", err)
		return 2
	}
	if ctx.Err() != nil {
		logf("interrupted")
		return 2
	}
	if failed := rep.failedChecks(); len(failed) > 0 {
		logf("FAILED: %d correctness check(s) failed", len(failed))
		return 1
	}
	logf("all correctness checks passed")
	return 0
}

// scenario is one numbered part of the benchmark.
type scenario struct {
	name  string
	title string
	run   func(ctx context.Context, env *environment, rep *report) error
}

// scenarios run in this order. Reads come after the writes, whose orders they read, and
// before the long streams, which would otherwise top every listed page.
var scenarios = []scenario{
	{"place", "place order over HTTP vs the naive SQL path and the floor (interleaved)", runPlace},
	{"personal", "place order with a contact (sealed personal data) vs without (interleaved)", runPersonal},
	{"addline", "add line to existing orders vs its raw SQL equivalent (interleaved)", runAddLine},
	{"reads", "GET one order and list a page", runReads},
	{"feed", "one SSE client following the log while 8 clients place orders; GET /events page latency", runFeed},
	{"contention", "32 clients adding lines to 4 hot orders; nothing lost or duplicated", runContention},
	{"streams", "add-line latency against stream length", runStreams},
	{"consumers", "async consumers: lag under load, catch-up vs a raw loop", runConsumers},
	{"partitions", "partitioned consumers: catch-up of each consumer with 1, 2, 4 partitions on 2 and 3 instances", runPartitions},
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
