package subscription_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/test/pgtest"
)

// A backlog longer than a batch is read through batch after batch, without waiting
// for a poll or a notification between them: here there is neither (no channel, a
// poll a minute away), and the consumer still reaches the end of the log at once.
func TestABacklogIsReadThroughWithoutWaitingForAPoll(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 35)
	last := maxPosition(t, pool)
	opts := fastOptions("a")
	opts.BatchSize, opts.PollInterval, opts.Channel = 10, time.Minute, ""
	start(t, pool, opts, seenProjection("proj", nil))
	eventually(t, 10*time.Second, "the consumer reads its backlog of 4 batches through", func() bool {
		return status(t, pool, "proj").Position >= last
	})
	if n, distinct := countSeen(t, pool, "proj"); n != 35 || distinct != 35 {
		t.Fatalf("applied %d events (%d distinct), want 35 once each", n, distinct)
	}
}

// CaughtUp runs once the consumer has handled everything committed, with the position
// it has handled up to: the end of the log, not before it.
func TestCaughtUpRunsAtTheEndOfTheLog(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 12)
	last := maxPosition(t, pool)
	var caught atomic.Int64
	caught.Store(-1)
	c := seenProjection("proj", nil)
	c.CaughtUp = func(_ context.Context, _ *pgx.Conn, position int64) error {
		if position < last {
			t.Errorf("CaughtUp at %d, before the end of the log at %d", position, last)
		}
		caught.Store(position)
		return nil
	}
	opts := fastOptions("a")
	opts.BatchSize = 5
	start(t, pool, opts, c)
	eventually(t, 10*time.Second, "CaughtUp runs", func() bool { return caught.Load() >= 0 })
	if p := caught.Load(); p != last {
		t.Fatalf("CaughtUp at %d, want the end of the log %d", p, last)
	}
}
