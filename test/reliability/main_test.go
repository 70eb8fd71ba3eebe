// Package reliability puts the real `orders serve` binary under faults: several
// replicas racing on one database, replicas killed with SIGKILL in the middle of load,
// the database stopped (and frozen) under load, one Idempotency-Key sent many times at
// once, and hostile input (oversized and slow requests, odd Unicode, random requests).
// After every fault the database is checked: every acknowledged command is in the log
// exactly once and in the read model, every rejected one is absent, streams have no
// gaps, aggregate_heads and order_overview agree with the events, and `orders verify`
// finds nothing.
//
// The quick versions run in `make test`:
//
//	TESTCONTAINERS_RYUK_DISABLED=true POSTGRES_IMAGE=orders-postgres:15-debian go test -race -count=1 ./test/reliability/
//
// SOAK=1 runs the long versions (more replicas, requests and fault cycles; a few
// minutes) and prints, at the end, how many requests were sent, faults injected,
// hostile inputs tried, checks run and differences found:
//
//	SOAK=1 go test -race -count=1 -v -timeout 30m ./test/reliability/
//
// SOAK_SEED fixes the random seed (it is printed either way).
package reliability

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/postgres"
	"github.com/example/orders/test/testsupport"
)

var (
	binPath  string // the orders binary, built once by TestMain
	adminURL string // superuser URL of the shared PostgreSQL server, database postgres
	soak     bool   // SOAK=1: the long versions
	seed     uint64 // base seed of every random choice; SOAK_SEED fixes it
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

// runMain builds the binary, starts the shared PostgreSQL server (a container of
// $POSTGRES_IMAGE, else local binaries; TEST_DATABASE_URL if set), hands it to pgtest
// through TEST_DATABASE_URL, runs the tests, prints the summary and stops everything
// it started. Unlike pgtest.Main it returns, so that the summary comes last.
func runMain(m *testing.M) int {
	flag.Parse()
	soak = os.Getenv("SOAK") != "" && os.Getenv("SOAK") != "0"
	seed = rand.Uint64() >> 1 //nolint:gosec // a test seed, not security
	if s := os.Getenv("SOAK_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			fmt.Fprintf(os.Stderr, "reliability: SOAK_SEED=%q: %v\n", s, err)
			return 2
		}
		seed = v
	}

	stopSignals := make(chan os.Signal, 1)
	signal.Notify(stopSignals, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-stopSignals
		fmt.Fprintf(os.Stderr, "reliability: %v: stopping what the tests started\n", s)
		emergency.run()
		os.Exit(130)
	}()
	if alarm := beforeTimeout(); alarm != nil {
		defer alarm.Stop()
	}
	defer emergency.run()

	var err error
	if binPath, err = buildService(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	var progress strings.Builder
	server, err := postgres.Start(ctx, postgres.Options{URLEnv: pgtest.URLEnv, Database: "postgres", Ephemeral: true, Log: &progress})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "reliability: no PostgreSQL: %v\n%s", err, progress.String())
		return 2
	}
	emergency.add("shared PostgreSQL server", func() { _ = server.Stop(context.Background()) })
	fmt.Fprintf(os.Stderr, "reliability: using %s; mode %s; seed %d (SOAK_SEED=%d repeats it)\n", server.How, mode(), seed, seed)
	adminURL = server.URL
	// pgtest uses the URL as it is and stops nothing; the server is ours to stop.
	if err := os.Setenv(pgtest.URLEnv, server.URL); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 2
	}

	code := m.Run()
	stats.print(os.Stderr)
	if code == 0 && stats.differences.Load() > 0 {
		code = 1
	}
	return code
}

func mode() string {
	if soak {
		return "soak (SOAK=1)"
	}
	return "quick (SOAK=1 for the long run)"
}

// pick returns quick or, with SOAK=1, long.
func pick[T any](quick, long T) T {
	if soak {
		return long
	}
	return quick
}

// newRand returns a generator seeded from the run's seed and a name, so that each test
// draws the same sequence for the same SOAK_SEED.
func newRand(name string) *rand.Rand {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h)) //nolint:gosec // reproducible test input, not security
}

// buildService builds the service's binary (testsupport.BuildService).
func buildService() (string, error) {
	root, err := testsupport.ModuleRoot()
	if err != nil {
		return "", err
	}
	return testsupport.BuildService(root)
}

// beforeTimeout stops everything shortly before go test's -timeout panics the process,
// which would leave servers and containers behind.
func beforeTimeout() *time.Timer {
	d, ok := testsupport.TestTimeout()
	if !ok {
		return nil
	}
	margin := min(10*time.Second, d/10)
	return time.AfterFunc(d-margin, func() {
		fmt.Fprintf(os.Stderr, "reliability: about to time out (-timeout %v): stopping servers first\n", d)
		emergency.run()
	})
}

// emergency holds what must be stopped even when the tests do not get to their own
// cleanup (Ctrl-C, -timeout): PostgreSQL servers, which run detached from us.
// Service processes die with us (Pdeathsig) where the system allows it.
var emergency = &stoppers{fns: map[int]stopper{}}

type stopper struct {
	what string
	fn   func()
}

type stoppers struct {
	mu   sync.Mutex
	next int
	fns  map[int]stopper
}

// add registers fn and returns a function that unregisters it.
func (s *stoppers) add(what string, fn func()) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.next
	s.next++
	s.fns[id] = stopper{what, fn}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.fns, id)
	}
}

// run calls every registered function, newest first, once.
func (s *stoppers) run() {
	s.mu.Lock()
	var ids []int
	for id := range s.fns {
		ids = append(ids, id)
	}
	fns := s.fns
	s.fns = map[int]stopper{}
	s.mu.Unlock()
	slices.Sort(ids)
	for i := len(ids) - 1; i >= 0; i-- {
		fns[ids[i]].fn()
	}
}

// ---------------------------------------------------------------------------
// The summary
// ---------------------------------------------------------------------------

// stats counts what the run did, for the summary at the end.
var stats = &counters{}

type counters struct {
	requests        atomic.Int64 // HTTP requests sent to services (load, probes, hostile input)
	acknowledged    atomic.Int64 // commands answered 2xx
	rejected        atomic.Int64 // commands answered 4xx
	unknown         atomic.Int64 // commands without a definite answer (503, connection lost)
	unknownLate     atomic.Int64 // ... of which the log shows that they did take effect
	kills           atomic.Int64 // replicas killed with SIGKILL
	dbStops         atomic.Int64 // PostgreSQL stopped and started again
	dbFreezes       atomic.Int64 // PostgreSQL frozen (SIGSTOP) and thawed
	inputs          atomic.Int64 // hostile inputs tried
	checks          atomic.Int64 // assertions evaluated
	differences     atomic.Int64 // assertions that failed
	dataDifferences atomic.Int64 // ... of which about the data: log, read model, acknowledged commands, verify
	verifyRuns      atomic.Int64 // `orders verify` runs
}

func (c *counters) print(w io.Writer) {
	faults := c.kills.Load() + c.dbStops.Load() + c.dbFreezes.Load()
	_, _ = fmt.Fprintf(w, "\n==== reliability summary (%s, seed %d) ====\n", mode(), seed)
	_, _ = fmt.Fprintf(w, "requests:        %d (commands: %d acknowledged, %d rejected, %d without a definite answer, of which %d took effect)\n",
		c.requests.Load(), c.acknowledged.Load(), c.rejected.Load(), c.unknown.Load(), c.unknownLate.Load())
	_, _ = fmt.Fprintf(w, "faults injected: %d (%d replicas killed with SIGKILL, %d database stops, %d database freezes)\n",
		faults, c.kills.Load(), c.dbStops.Load(), c.dbFreezes.Load())
	_, _ = fmt.Fprintf(w, "hostile inputs:  %d\n", c.inputs.Load())
	_, _ = fmt.Fprintf(w, "checks run:      %d (%d `orders verify` runs)\n", c.checks.Load(), c.verifyRuns.Load())
	_, _ = fmt.Fprintf(w, "differences:     %d in the data (log, read model, acknowledged commands, verify); %d failed checks in all\n",
		c.dataDifferences.Load(), c.differences.Load())
}

// expect counts a check and, when it fails, a difference, reported like t.Errorf.
func expect(t testing.TB, ok bool, format string, args ...any) bool {
	t.Helper()
	stats.checks.Add(1)
	if !ok {
		stats.differences.Add(1)
		t.Errorf(format, args...)
	}
	return ok
}
