package subscription_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// A projection or a reactor that panics on an event fails that event, as an error
// would: the events before it are handled, the consumer stops at it after MaxAttempts
// with the panic as its error, and the log has the stack. The process lives on (left to
// unwind, the panic would end this test's binary, as it would end the service).
func TestAPanicOnAnEventStopsTheConsumerAtIt(t *testing.T) {
	for _, kind := range []string{"projection", "reactor"} {
		t.Run(kind, func(t *testing.T) {
			pool := pgtest.NewPool(t)
			appendCommitted(t, pool, "Good", 2)
			bad := appendCommitted(t, pool, "Bad", 1)[0]
			appendCommitted(t, pool, "Good", 1)
			boom := func(e eventstore.RecordedEvent) {
				if e.Type == "Bad" {
					panic(fmt.Sprintf("cannot apply event %d", e.Position))
				}
			}
			c := seenProjection("c", nil)
			project := c.Project
			c.Project = func(e eventstore.RecordedEvent, q subscription.Queue) error {
				boom(e)
				return project(e, q)
			}
			if kind == "reactor" {
				c = subscription.Consumer{Name: "c", React: func(_ context.Context, e eventstore.RecordedEvent) error {
					boom(e)
					return nil
				}}
			}
			opts := fastOptions("a")
			logs := logTo(&opts)
			start(t, pool, opts, c)
			stopsAt(t, pool, "c", bad, func(e string) bool { return e == fmt.Sprintf("panic: cannot apply event %d", bad.Position) })
			if kind == "projection" {
				if n, _ := countSeen(t, pool, "c"); n != 2 {
					t.Fatalf("applied %d events before the panicking one, want 2", n)
				}
			}
			eventually(t, 5*time.Second, "the stop is logged with the stack", func() bool {
				l := logs.lines("consumer stopped at a failing event")
				return len(l) == 1 && strings.Contains(l[0], "panic_test.go")
			})
		})
	}
}

// A panic in a consumer's Setup is its error: the worker logs it and starts again,
// and the process lives on; once Setup stops panicking, the consumer runs. The stop is
// logged before the lease is released, so it is in the log before the next worker
// (here this instance's own) can reach the end of the log.
func TestAPanicInSetupIsItsError(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 2)
	last := maxPosition(t, pool)
	c := seenProjection("c", nil)
	setup := c.Setup
	var calls atomic.Int32
	c.Setup = func(ctx context.Context, conn *pgx.Conn) error {
		if calls.Add(1) == 1 {
			panic("setup fails")
		}
		return setup(ctx, conn)
	}
	opts := fastOptions("a")
	logs := logTo(&opts)
	start(t, pool, opts, c)
	eventually(t, 10*time.Second, "the consumer reaches the end of the log", func() bool { return status(t, pool, "c").Position >= last })
	if l := logs.lines("panic: setup fails"); len(l) == 0 {
		t.Fatalf("the panic in Setup was not logged:\n%s", logs.String())
	}
}

// A panic in a consumer's CaughtUp hook is the hook's error: logged, and the consumer
// goes on (here it catches up again after more events, and the hook runs again).
func TestAPanicInCaughtUpIsItsError(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 2)
	c := seenProjection("c", nil)
	var calls atomic.Int32
	c.CaughtUp = func(context.Context, *pgx.Conn, int64) error {
		if calls.Add(1) == 1 {
			panic("hook fails")
		}
		return nil
	}
	opts := fastOptions("a")
	logs := logTo(&opts)
	start(t, pool, opts, c)
	eventually(t, 10*time.Second, "the hook's panic is logged", func() bool { return len(logs.lines("panic: hook fails")) == 1 })
	appendCommitted(t, pool, "E", 1)
	last := maxPosition(t, pool)
	eventually(t, 10*time.Second, "the consumer goes on and the hook runs again", func() bool {
		return status(t, pool, "c").Position >= last && calls.Load() >= 2
	})
}
