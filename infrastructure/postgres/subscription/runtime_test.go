package subscription_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// A transaction that took a low position and commits after many higher ones is
// neither missed nor repeated, by a projection or a reactor, while both run.
func TestOutOfOrderCommitIsNotMissed(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	before := appendCommitted(t, pool, "Before", 5)
	var r reactions
	start(t, pool, fastOptions("a"), seenProjection("proj", nil), r.consumer("react"))
	// What commits while the slow transaction is open can only be read after it ends
	// (the horizon cannot pass it); what committed before it is read now.
	eventually(t, 10*time.Second, "projection reads what committed before", func() bool {
		return status(t, pool, "proj").Position >= before[4].Position
	})

	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = slow.Rollback(ctx) }()
	low := appendEvents(t, ctx, slow, "Slow", 1)[0]
	var high []eventstore.RecordedEvent
	for range 20 {
		high = append(high, appendCommitted(t, pool, "Fast", 5)...)
	}
	if low.Position > high[0].Position {
		t.Fatalf("setup: the slow event should hold the lower position (%d vs %d)", low.Position, high[0].Position)
	}
	// Consumers run meanwhile; they must not pass the open transaction's position.
	eventually(t, 10*time.Second, "projection reads up to the open transaction", func() bool {
		return status(t, pool, "proj").Position >= low.Position-1
	})
	time.Sleep(200 * time.Millisecond) // give them a chance to do wrong; not an assertion of timing
	if p := status(t, pool, "proj").Position; p >= low.Position {
		t.Fatalf("projection passed the open transaction: at %d, slow event at %d", p, low.Position)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	last := high[len(high)-1].Position
	for _, name := range []string{"proj", "react"} {
		eventually(t, 15*time.Second, name+" reaches the last event", func() bool { return status(t, pool, name).Position >= last })
	}
	n, distinct := countSeen(t, pool, "proj")
	if n != 106 || distinct != 106 {
		t.Fatalf("projection applied %d events (%d distinct), want 106 once each", n, distinct)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) != 106 {
		t.Fatalf("reactor saw %d events, want 106", len(r.seen))
	}
	for id, c := range r.seen {
		if c != 1 {
			t.Fatalf("reactor saw %s %d times", id, c)
		}
	}
	if s := status(t, pool, "proj"); !s.Healthy() {
		t.Fatalf("projection unhealthy: %+v", s)
	}
}

// An event that keeps failing stops the consumer at it, with the error recorded and
// the events before it applied; skip moves past it and the rest are applied.
func TestPoisonEventStopsThenSkip(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "Good", 3)
	bad := appendCommitted(t, pool, "Bad", 1)[0]
	appendCommitted(t, pool, "Good", 2)
	poison := func(e eventstore.RecordedEvent) error {
		if e.Type == "Bad" {
			return errors.New("cannot apply Bad")
		}
		return nil
	}
	start(t, pool, fastOptions("a"), seenProjection("proj", poison))
	eventually(t, 10*time.Second, "consumer stops", func() bool { return status(t, pool, "proj").Stopped })
	s := status(t, pool, "proj")
	if s.Position != bad.Position-1 || s.ErrorPosition != bad.Position || s.Attempts != 3 || s.Error != "cannot apply Bad" {
		t.Fatalf("stopped status = %+v, want position %d, error at %d after 3 attempts", s, bad.Position-1, bad.Position)
	}
	if n, _ := countSeen(t, pool, "proj"); n != 3 {
		t.Fatalf("applied %d events before the poison one, want 3", n)
	}
	if _, err := subscriptionSkip(pool, "proj"); err != nil {
		t.Fatal(err)
	}
	last := maxPosition(t, pool)
	eventually(t, 10*time.Second, "consumer resumes past the skipped event", func() bool { return status(t, pool, "proj").Position >= last })
	if n, _ := countSeen(t, pool, "proj"); n != 5 {
		t.Fatalf("applied %d events, want 5 (all but the skipped one)", n)
	}
}

// Of three runtimes running the same consumers, exactly one is active per consumer;
// when it stops, another takes over within a few lock retries and nothing is lost or
// applied twice.
func TestExactlyOneActiveAndTakeover(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 20)
	type replica struct {
		active func() bool
		stop   func()
	}
	var replicas []replica
	for _, owner := range []string{"r1", "r2", "r3"} {
		rt, stop := start(t, pool, fastOptions(owner), seenProjection("proj", nil))
		replicas = append(replicas, replica{func() bool { return rt.Active("proj") }, stop})
	}
	activeCount := func() (n, which int) {
		for i, r := range replicas {
			if r.active() {
				n++
				which = i
			}
		}
		return
	}
	eventually(t, 10*time.Second, "one replica becomes active", func() bool { n, _ := activeCount(); return n == 1 })
	stopAt := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(stopAt) {
		if n, _ := activeCount(); n > 1 {
			t.Fatalf("%d replicas active at once", n)
		}
		appendCommitted(t, pool, "E", 1)
	}
	_, first := activeCount()
	replicas[first].stop()
	appendCommitted(t, pool, "E", 10)
	eventually(t, 10*time.Second, "another replica takes over", func() bool { n, w := activeCount(); return n == 1 && w != first })
	last := maxPosition(t, pool)
	eventually(t, 10*time.Second, "the new owner catches up", func() bool { return status(t, pool, "proj").Position >= last })
	n, distinct := countSeen(t, pool, "proj")
	var total int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if n != total || distinct != total {
		t.Fatalf("applied %d (%d distinct) of %d events", n, distinct, total)
	}
}

// Killing the consumer's connections (what a database restart does to them) costs
// nothing: the runtime reconnects, takes the lock again and goes on.
func TestConnectionLossResumes(t *testing.T) {
	pool := pgtest.NewPool(t)
	start(t, pool, fastOptions("a"), seenProjection("proj", nil))
	for round := range 3 {
		appendCommitted(t, pool, "E", 30)
		if _, err := pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`); err != nil {
			t.Fatal(err)
		}
		appendCommitted(t, pool, "E", 30)
		last := maxPosition(t, pool)
		eventually(t, 15*time.Second, "consumer resumes after the connections were killed", func() bool {
			return status(t, pool, "proj").Position >= last
		})
		n, distinct := countSeen(t, pool, "proj")
		if n != 60*(round+1) || distinct != n {
			t.Fatalf("round %d: applied %d (%d distinct), want %d once each", round, n, distinct, 60*(round+1))
		}
	}
}

// A transaction that took its id early (a first write before its events, as an
// idempotency key is) and its position late commits while a transaction with a later id
// and a lower position is still open: the consumer must not pass the lower position
// (in position order below xmin it would read the first and pass the second for good).
func TestEarlyTransactionIDDoesNotSkipALowerPosition(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE early (x int)`); err != nil {
		t.Fatal(err)
	}
	start(t, pool, fastOptions("a"), seenProjection("proj", nil))
	early, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = early.Rollback(ctx) }()
	if _, err := early.Exec(ctx, `INSERT INTO early VALUES (1)`); err != nil { // takes its transaction id now
		t.Fatal(err)
	}
	late, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = late.Rollback(ctx) }()
	low := appendEvents(t, ctx, late, "Late", 1)[0]    // later id, lower position, stays open
	high := appendEvents(t, ctx, early, "Early", 1)[0] // earlier id, higher position
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the consumer reads meanwhile; not an assertion of timing
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "both events applied", func() bool {
		n, _ := countSeen(t, pool, "proj")
		return n == 2
	})
	if s := status(t, pool, "proj"); s.Position < high.Position || low.Position > high.Position {
		t.Fatalf("status %+v after positions %d and %d", s, low.Position, high.Position)
	}
}

// A reactor checkpoints once per batch; when an event keeps failing, the checkpoint is
// the event before it, every event before it was handled once, and skip resumes.
func TestReactorPoisonEventCheckpointsTheEventsBefore(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "Good", 3)
	bad := appendCommitted(t, pool, "Bad", 1)[0]
	appendCommitted(t, pool, "Good", 2)
	var mu sync.Mutex
	seen := map[uuid.UUID]int{}
	reactor := subscription.Consumer{Name: "react", React: func(_ context.Context, e eventstore.RecordedEvent) error {
		if e.Type == "Bad" {
			return errors.New("cannot react to Bad")
		}
		mu.Lock()
		defer mu.Unlock()
		seen[e.EventID]++
		return nil
	}}
	start(t, pool, fastOptions("a"), reactor)
	eventually(t, 10*time.Second, "reactor stops", func() bool { return status(t, pool, "react").Stopped })
	if s := status(t, pool, "react"); s.Position != bad.Position-1 || s.ErrorPosition != bad.Position {
		t.Fatalf("stopped status = %+v, want position %d, error at %d", s, bad.Position-1, bad.Position)
	}
	if _, err := subscriptionSkip(pool, "react"); err != nil {
		t.Fatal(err)
	}
	last := maxPosition(t, pool)
	eventually(t, 10*time.Second, "reactor resumes past the skipped event", func() bool { return status(t, pool, "react").Position >= last })
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 5 {
		t.Fatalf("reacted to %d events, want 5", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("reacted to %s %d times", id, n)
		}
	}
}

// Events that commit while an older transaction runs cannot be read until it ends;
// when that transaction sends no NOTIFY (a consumer's own, a migration), the consumer
// still reads them within its MinInterval, not at its next poll.
func TestHeldBackEventsAreReadWithoutANotification(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	opts := fastOptions("a")
	opts.PollInterval = time.Minute // no poll can rescue the test
	rt, _ := start(t, pool, opts, seenProjection("proj", nil))
	first := appendCommitted(t, pool, "First", 1)[0]
	rt.Wake()
	eventually(t, 5*time.Second, "the consumer is idle, caught up", func() bool { return status(t, pool, "proj").Position >= first.Position })
	time.Sleep(50 * time.Millisecond) // into its wait for a wake-up; not an assertion of timing
	blocker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = blocker.Rollback(ctx) }()
	if _, err := blocker.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // holds pg_snapshot_xmin back
		t.Fatal(err)
	}
	events := appendCommitted(t, pool, "Late", 3)
	rt.Wake() // what their NOTIFY does: the consumer reads, and finds them held back
	// Longer than a horizon sample waits for the transactions running at it (250 ms):
	// the consumer gives up on this one and must come back by itself.
	time.Sleep(400 * time.Millisecond)
	if p := status(t, pool, "proj").Position; p >= events[0].Position {
		t.Fatalf("read past a running transaction: at %d", p)
	}
	if err := blocker.Rollback(ctx); err != nil { // ends without a NOTIFY
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the held-back events are read", func() bool {
		return status(t, pool, "proj").Position >= events[len(events)-1].Position
	})
}

// A stream's events given out of version order (here written around the event store's
// head, as no append can) stop every consumer at the first one out of place, with the
// reason recorded, before it is applied: a version handed over before the one before
// it, and a version that skips one.
func TestOutOfOrderVersionsStopTheConsumer(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	appendCommitted(t, pool, "Good", 2)
	raw := func(stream string, version int64) int64 {
		var pos int64
		if err := pool.QueryRow(ctx, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
			VALUES ('test', $1, $2, gen_random_uuid(), 'Raw', 1, '{}') RETURNING global_position`, stream, version).Scan(&pos); err != nil {
			t.Fatal(err)
		}
		return pos
	}
	raw("a", 1)
	swapped := raw("a", 3) // version 2 comes after it
	raw("a", 2)
	raw("b", 1)
	raw("b", 2)
	gap := raw("b", 4) // version 3 never comes
	var r reactions
	opts := fastOptions("a")
	opts.BatchSize = 1 // each event in a batch of its own: the order is checked across batches
	start(t, pool, opts, seenProjection("proj", nil), r.consumer("react"))
	for _, name := range []string{"proj", "react"} {
		eventually(t, 10*time.Second, name+" stops", func() bool { return status(t, pool, name).Stopped })
		s := status(t, pool, name)
		if s.Position != swapped-1 || s.ErrorPosition != swapped || s.Attempts != 1 ||
			!strings.Contains(s.Error, "test/a out of order: version 3") || !strings.Contains(s.Error, "version 2 was expected next") {
			t.Fatalf("%s: %+v, want stopped at %d as out of order", name, s, swapped)
		}
		if _, err := subscriptionSkip(pool, name); err != nil {
			t.Fatal(err)
		}
	}
	// After the skip the consumer no longer knows stream a's past; b's gap it sees.
	for _, name := range []string{"proj", "react"} {
		eventually(t, 10*time.Second, name+" stops at the gap", func() bool { return status(t, pool, name).ErrorPosition == gap })
		if s := status(t, pool, name); !s.Stopped || !strings.Contains(s.Error, "version 4") || s.Position != gap-1 {
			t.Fatalf("%s: %+v, want stopped at the gap %d", name, s, gap)
		}
	}
}

// A consumer that starts from the beginning of the log knows every stream: one whose
// first event is not version 1 stops it.
func TestAStreamThatDoesNotStartAtVersionOneStopsAConsumerFromTheStart(t *testing.T) {
	pool := pgtest.NewPool(t)
	var pos int64
	if err := pool.QueryRow(context.Background(), `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		VALUES ('test', 'late', 2, gen_random_uuid(), 'Raw', 1, '{}') RETURNING global_position`).Scan(&pos); err != nil {
		t.Fatal(err)
	}
	start(t, pool, fastOptions("a"), seenProjection("proj", nil))
	eventually(t, 10*time.Second, "proj stops", func() bool { return status(t, pool, "proj").Stopped })
	if s := status(t, pool, "proj"); s.ErrorPosition != pos || !strings.Contains(s.Error, "version 1 was expected first") {
		t.Fatalf("%+v", s)
	}
}

// A checkpoint an earlier release wrote, a cursor in (transaction id, position) order,
// is converted to a position when a consumer takes it over, without skipping what that
// cursor had not handled: here an event with a lower position whose transaction is
// still open, which a conversion that trusted the committed events alone would pass.
func TestALegacyCheckpointIsConvertedWithoutSkipping(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE early (x int); CREATE TABLE seen (position bigint PRIMARY KEY, consumer text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	handled := appendCommitted(t, pool, "Handled", 3)
	early, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = early.Rollback(ctx) }()
	if _, err := early.Exec(ctx, `INSERT INTO early VALUES (1)`); err != nil { // takes its id now
		t.Fatal(err)
	}
	late, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = late.Rollback(ctx) }()
	open := appendEvents(t, ctx, late, "Open", 1)[0]
	high := appendEvents(t, ctx, early, "Early", 1)[0]
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Where the old reader stood: past the early transaction (below xmin), before the
	// open one.
	if _, err := pool.Exec(ctx, `INSERT INTO consumer_checkpoints (name, position, transaction_id)
		SELECT 'proj', global_position, transaction_id FROM events WHERE global_position = $1`, high.Position); err != nil {
		t.Fatal(err)
	}
	start(t, pool, fastOptions("a"), seenProjection("proj", nil))
	time.Sleep(300 * time.Millisecond) // the consumer converts and reads meanwhile; not an assertion of timing
	if n, _ := countSeen(t, pool, "proj"); n != 0 {
		t.Fatalf("%d events handled while a transaction the old cursor could not see is open", n)
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the open event is handled once it commits", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM seen WHERE position = $1`, open.Position).Scan(&n)
		return n == 1
	})
	var again int // the events the old cursor had handled are not handled again
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM seen WHERE position <= $1`, handled[2].Position).Scan(&again); err != nil || again != 0 {
		t.Fatalf("%d events before the old cursor handled again (%v)", again, err)
	}
	var legacy int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM consumer_checkpoints WHERE transaction_id <> '0'`).Scan(&legacy); err != nil || legacy != 0 {
		t.Fatalf("%d checkpoints still in the old form (%v)", legacy, err)
	}
}
