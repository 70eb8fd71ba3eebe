package subscription_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// logBuffer keeps a runtime's log lines (text format), safe for its goroutines.
type logBuffer struct{ testsupport.SyncBuffer }

// logTo sends the runtime's log of opts to a new buffer, which it returns.
func logTo(opts *subscription.Options) *logBuffer {
	logs := &logBuffer{}
	opts.Log = slog.New(slog.NewTextHandler(logs, nil))
	return logs
}

// noEventFailure fails the test if the log holds an event's failure: what a failure
// that is not an event's (what) must not be logged as.
func (b *logBuffer) noEventFailure(t *testing.T, what string) {
	t.Helper()
	if l := b.lines("event failed"); len(l) != 0 {
		t.Fatalf("%s logged as an event's failure: %q", what, l)
	}
}

func (b *logBuffer) lines(containing string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, containing) {
			out = append(out, l)
		}
	}
	return out
}

// A consumer that stops at a failing event says so in the log, once, as an error
// with the event's position and the attempts it had (MaxAttempts); the attempts before
// are warnings that it retries. Stopped, its worker keeps the partition and waits (for
// a reset or a skip): it does not end and is not claimed again (the epoch stays).
func TestAStoppedConsumerSaysSoInTheLog(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "Good", 1)
	bad := appendCommitted(t, pool, "Bad", 1)[0]
	var logs logBuffer
	opts := fastOptions("a")
	opts.Log = slog.New(slog.NewTextHandler(&logs, nil))
	start(t, pool, opts, seenProjection("proj", func(e eventstore.RecordedEvent) error {
		if e.Type == "Bad" {
			return errors.New("cannot apply Bad")
		}
		return nil
	}))
	// The stop is recorded, then logged: wait for both.
	eventually(t, 10*time.Second, "the consumer stops and logs it", func() bool {
		return status(t, pool, "proj").Stopped && len(logs.lines("consumer stopped at a failing event")) > 0
	})
	stopped := logs.lines("consumer stopped at a failing event")
	if len(stopped) != 1 || !strings.Contains(stopped[0], "level=ERROR") || !strings.Contains(stopped[0], "attempts=3") ||
		!strings.Contains(stopped[0], "position="+itoa(bad.Position)) || !strings.Contains(stopped[0], "cannot apply Bad") {
		t.Fatalf("the stop's log lines: %q", stopped)
	}
	if retried := logs.lines("event failed; retrying"); len(retried) != 2 || !strings.Contains(retried[0], "level=WARN") {
		t.Fatalf("the retries' log lines: %q, want the 2 attempts before the stop", retried)
	}
	epoch := status(t, pool, "proj").Epoch
	time.Sleep(500 * time.Millisecond) // polls every 50 ms, ticks every 100 ms; not an assertion of timing
	if s := status(t, pool, "proj"); s.Epoch != epoch || !s.Stopped || !s.Held {
		t.Fatalf("the stopped partition after a while: %+v, want it held at epoch %d", s, epoch)
	}
	if l := logs.lines("consumer partition stopped"); len(l) != 0 {
		t.Fatalf("the stopped consumer's worker ended: %q", l)
	}
}

// A partition's worker that ends while the runtime runs (here its consumer's Setup
// fails) says why in the log; one that ends because the runtime stops says nothing
// (a shutdown is no failure).
func TestAWorkerThatEndsSaysWhyInTheLog(t *testing.T) {
	pool := pgtest.NewPool(t)
	var logs logBuffer
	opts := fastOptions("a")
	opts.Log = slog.New(slog.NewTextHandler(&logs, nil))
	c := seenProjection("proj", nil)
	c.Setup = func(context.Context, *pgx.Conn) error { return errors.New("no table today") }
	start(t, pool, opts, c)
	eventually(t, 10*time.Second, "the worker's end is logged", func() bool {
		for _, l := range logs.lines("consumer partition stopped") {
			if strings.Contains(l, "setup: no table today") {
				return true
			}
		}
		return false
	})

	var quiet logBuffer
	opts.Owner, opts.Log = "b", slog.New(slog.NewTextHandler(&quiet, nil))
	rt, stop := start(t, pool, opts, seenProjection("healthy", nil))
	eventually(t, 10*time.Second, "the healthy consumer works", func() bool { return rt.Active("healthy") })
	stop()
	if l := quiet.lines("consumer partition stopped"); len(l) != 0 {
		t.Fatalf("a shutdown logged as a worker's failure: %q", l)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
