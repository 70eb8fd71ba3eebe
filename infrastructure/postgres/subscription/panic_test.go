package subscription_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

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
					var lines []string
					_ = lines[e.Position] // index out of range
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
			logs := &logBuffer{}
			opts := fastOptions("a")
			opts.Log = slog.New(slog.NewTextHandler(logs, nil))
			start(t, pool, opts, c)
			eventually(t, 10*time.Second, "the consumer stops", func() bool { return status(t, pool, "c").Stopped })
			s := status(t, pool, "c")
			if s.Position != bad.Position-1 || s.ErrorPosition != bad.Position || s.Attempts != 3 || !strings.Contains(s.Error, "panic: runtime error: index out of range") {
				t.Fatalf("stopped status = %+v, want position %d, a panic at %d after 3 attempts", s, bad.Position-1, bad.Position)
			}
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
