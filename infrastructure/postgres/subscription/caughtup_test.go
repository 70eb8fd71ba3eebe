package subscription_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
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

// A partitioned consumer's CaughtUp runs with the consumer's watermark (every
// partition's checkpoint at or above it) once all its partitions have caught up, not
// when the first of them has (here the other one is slow: each of its events takes
// 20 ms), and again after later events are handled, with the new end of the log.
func TestCaughtUpOfAPartitionedConsumerRunsAtTheWatermark(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	appendCommitted(t, pool, "E", 10)
	slow := map[int64]bool{} // the events of partition 1
	rows, err := pool.Query(ctx, `SELECT global_position FROM events WHERE `+subscription.PartitionOf("stream_type", "stream_id", "2")+` = 1`)
	if err != nil {
		t.Fatal(err)
	}
	positions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(positions) == 0 {
		t.Fatalf("setup: %d events in partition 1 (%v)", len(positions), err)
	}
	for _, p := range positions {
		slow[p] = true
	}
	var first, caught atomic.Int64
	first.Store(-1)
	c := applyLog("proj", func(e eventstore.RecordedEvent) {
		if slow[e.Position] {
			time.Sleep(20 * time.Millisecond)
		}
	})
	c.CaughtUp = func(ctx context.Context, conn *pgx.Conn, position int64) error {
		var wm int64
		if err := conn.QueryRow(ctx, `SELECT min(position) FROM consumer_checkpoints WHERE name = 'proj'`).Scan(&wm); err != nil {
			return err
		}
		if position > wm {
			t.Errorf("CaughtUp at %d, above the watermark %d", position, wm)
		}
		first.CompareAndSwap(-1, position)
		caught.Store(max(caught.Load(), position))
		return nil
	}
	rt, _ := start(t, pool, partitionOptions("a", 2), c)
	for round := range 2 {
		last := maxPosition(t, pool)
		eventually(t, 10*time.Second, fmt.Sprintf("round %d: CaughtUp at the end of the log %d", round, last), func() bool { return caught.Load() >= last })
		if p := caught.Load(); p != last {
			t.Fatalf("round %d: CaughtUp at %d, past the end of the log %d", round, p, last)
		}
		if round == 0 && first.Load() != last {
			t.Fatalf("CaughtUp ran first at %d, before the consumer had handled the log up to %d", first.Load(), last)
		}
		appendCommitted(t, pool, "E", 10)
		rt.Wake()
	}
}

// A read that finds events held back behind a running transaction keeps the worker on
// its partition: it reads again within MinInterval (no new claim, the epoch stays), and
// reads the events once the transaction ends.
func TestAWorkerWaitingForHeldBackEventsKeepsItsPartition(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	opts := fastOptions("a")
	opts.PollInterval = time.Minute
	rt, _ := start(t, pool, opts, seenProjection("proj", nil))
	first := appendCommitted(t, pool, "First", 1)[0]
	rt.Wake()
	eventually(t, 5*time.Second, "the consumer is idle, caught up", func() bool { return status(t, pool, "proj").Position >= first.Position })
	epoch := status(t, pool, "proj").Epoch
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = blocker.Rollback(ctx) }()
	if _, err := blocker.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // holds the horizon back
		t.Fatal(err)
	}
	late := appendCommitted(t, pool, "Late", 2)
	for range 10 { // what their NOTIFYs do: the consumer reads, and finds them held back
		rt.Wake()
		time.Sleep(50 * time.Millisecond)
	}
	if s := status(t, pool, "proj"); s.Epoch != epoch || !s.Held || s.Position >= late[0].Position {
		t.Fatalf("while events are held back: %+v, want the partition held at epoch %d, before %d", s, epoch, late[0].Position)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the held-back events are read", func() bool { return status(t, pool, "proj").Position >= late[1].Position })
	if s := status(t, pool, "proj"); s.Epoch != epoch {
		t.Fatalf("the partition was claimed again: epoch %d, was %d", s.Epoch, epoch)
	}
}
