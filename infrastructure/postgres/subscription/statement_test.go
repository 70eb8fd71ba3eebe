package subscription_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// A projection statement that PostgreSQL refuses (not Project's own error) fails the
// event that queued it: the events before it in the batch are applied and checkpointed
// on their own, nothing of the failing one is, and after MaxAttempts the consumer stops
// at it with PostgreSQL's error; skip resumes after it. Events before and after the bad
// one in the same batch show that the prefix is cut at the failing event, not at the
// batch's start or end.
func TestAFailingStatementStopsTheConsumerAtItsEvent(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "Good", 3)
	bad := appendCommitted(t, pool, "Bad", 1)[0]
	appendCommitted(t, pool, "Good", 2)
	c := seenProjection("proj", nil)
	project := c.Project
	c.Project = func(e eventstore.RecordedEvent, q subscription.Queue) error {
		if err := project(e, q); err != nil {
			return err
		}
		if e.Type == "Bad" {
			q.Queue(`SELECT 1 / (position - position) FROM seen WHERE position = $1`, e.Position) // division by zero
		}
		return nil
	}
	start(t, pool, fastOptions("a"), c)
	stopsAt(t, pool, "proj", bad, func(e string) bool { return strings.Contains(e, "division by zero") })
	if n, distinct := countSeen(t, pool, "proj"); n != 3 || distinct != 3 {
		t.Fatalf("applied %d events (%d distinct) before the failing one, want 3", n, distinct)
	}
	if _, err := subscriptionSkip(pool, "proj"); err != nil {
		t.Fatal(err)
	}
	last := maxPosition(t, pool)
	eventually(t, 10*time.Second, "the consumer resumes past the skipped event", func() bool { return status(t, pool, "proj").Position >= last })
	if n, _ := countSeen(t, pool, "proj"); n != 5 {
		t.Fatalf("applied %d events, want 5 (all but the skipped one)", n)
	}
}

// Only the checkpoint's move must change exactly one row (the fence); a projection's
// own statements may change none or many, and are applied.
func TestProjectionStatementsMayChangeAnyNumberOfRows(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 4)
	last := maxPosition(t, pool)
	c := seenProjection("proj", nil)
	project := c.Project
	c.Project = func(e eventstore.RecordedEvent, q subscription.Queue) error {
		q.Queue(`UPDATE seen SET consumer = consumer WHERE false`) // no row
		if err := project(e, q); err != nil {
			return err
		}
		q.Queue(`UPDATE seen SET consumer = consumer`) // every row so far
		return nil
	}
	start(t, pool, fastOptions("a"), c)
	eventually(t, 10*time.Second, "the consumer reaches the end of the log", func() bool { return status(t, pool, "proj").Position >= last })
	if n, _ := countSeen(t, pool, "proj"); n != 4 {
		t.Fatalf("applied %d events, want 4", n)
	}
	if s := status(t, pool, "proj"); !s.Healthy() {
		t.Fatalf("%+v", s)
	}
}

// A checkpoint move that fails in the projection's transaction (here a trigger refuses
// the first one; a lost connection or a timeout does the same) commits none of the
// batch's statements and fails no event (none is retried as failing, none is logged as
// failed): the consumer reconnects, reads the batch again and applies each event once,
// with no error recorded.
func TestAFailedCheckpointMoveCommitsNothingAndIsRetried(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE SEQUENCE checkpoint_moves;
		CREATE FUNCTION fail_first_move() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.position > OLD.position AND nextval('checkpoint_moves') = 1 THEN
				RAISE EXCEPTION 'the first checkpoint move fails';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER fail_first_move BEFORE UPDATE ON consumer_checkpoints FOR EACH ROW EXECUTE FUNCTION fail_first_move()`); err != nil {
		t.Fatal(err)
	}
	logs := applyFiveToTheEnd(t, pool)
	var moves int64
	if err := pool.QueryRow(ctx, `SELECT last_value FROM checkpoint_moves`).Scan(&moves); err != nil || moves < 2 {
		t.Fatalf("%d checkpoint moves tried (%v): the failing one was not retried", moves, err)
	}
	if s := status(t, pool, "proj"); !s.Healthy() || s.Attempts != 0 {
		t.Fatalf("a failed checkpoint move is not the event's failure: %+v", s)
	}
	logs.noEventFailure(t, "a failed checkpoint move")
}

// A checkpoint move that fails every time is not an event's failure either: no event is
// blamed, counted or stopped at (which would stop the consumer at an event that is not
// the cause); the worker says so in the log and starts again.
func TestACheckpointMoveThatAlwaysFailsBlamesNoEvent(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE FUNCTION refuse_moves() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.position > OLD.position THEN
				RAISE EXCEPTION 'checkpoint moves are refused';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_moves BEFORE UPDATE ON consumer_checkpoints FOR EACH ROW EXECUTE FUNCTION refuse_moves()`); err != nil {
		t.Fatal(err)
	}
	appendCommitted(t, pool, "E", 3)
	opts := fastOptions("a")
	logs := logTo(&opts)
	start(t, pool, opts, seenProjection("proj", nil))
	eventually(t, 10*time.Second, "the worker says it failed, twice", func() bool {
		return len(logs.lines("checkpoint moves are refused")) >= 2
	})
	if s := status(t, pool, "proj"); s.Stopped || s.Attempts != 0 || s.Position != 0 {
		t.Fatalf("a checkpoint move that fails was taken for an event's failure: %+v", s)
	}
	logs.noEventFailure(t, "a failed checkpoint move")
}

// A projection's transaction whose COMMIT fails (here a deferred constraint trigger
// refuses the first one; a lost connection does the same) commits nothing and fails no
// event: the consumer reads the batch again and applies
// each event once, with no error recorded or logged.
func TestAFailedCommitCommitsNothingAndIsRetried(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE seen (position bigint PRIMARY KEY, consumer text NOT NULL);
		CREATE SEQUENCE commits;
		CREATE FUNCTION fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('commits') = 1 THEN
				RAISE EXCEPTION 'the first commit fails';
			END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER fail_first_commit AFTER INSERT ON seen DEFERRABLE INITIALLY DEFERRED
			FOR EACH ROW EXECUTE FUNCTION fail_first_commit()`); err != nil {
		t.Fatal(err)
	}
	logs := applyFiveToTheEnd(t, pool)
	if s := status(t, pool, "proj"); !s.Healthy() || s.Attempts != 0 {
		t.Fatalf("a failed commit is not an event's failure: %+v", s)
	}
	logs.noEventFailure(t, "a failed commit")
}

// A commit that fails every time (a deferred constraint that one event breaks) names no
// statement, yet the consumer finds the event to blame, applies the events before it,
// and stops there after MaxAttempts: it is not read and retried forever with its
// status healthy. The events after it stay unapplied until skip.
func TestACommitThatAlwaysFailsStopsTheConsumerAtItsEvent(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	appendCommitted(t, pool, "Good", 3)
	bad := appendCommitted(t, pool, "Bad", 1)[0]
	appendCommitted(t, pool, "Good", 2)
	if _, err := pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE seen (position bigint PRIMARY KEY, consumer text NOT NULL);
		CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.position = %d THEN
				RAISE EXCEPTION 'position %% is refused at commit', NEW.position;
			END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER refuse_bad AFTER INSERT ON seen DEFERRABLE INITIALLY DEFERRED
			FOR EACH ROW EXECUTE FUNCTION refuse_bad()`, bad.Position)); err != nil {
		t.Fatal(err)
	}
	start(t, pool, fastOptions("a"), seenProjection("proj", nil))
	stopsAt(t, pool, "proj", bad, func(e string) bool { return strings.Contains(e, "refused at commit") })
	if n, distinct := countSeen(t, pool, "proj"); n != 3 || distinct != 3 {
		t.Fatalf("applied %d events (%d distinct) before the failing one, want 3", n, distinct)
	}
}

// applyFiveToTheEnd appends 5 events, runs the projection "proj" over them until it
// reaches the end of the log, checks that each was applied once, and returns its log.
func applyFiveToTheEnd(t *testing.T, pool *pgxpool.Pool) *logBuffer {
	t.Helper()
	appendCommitted(t, pool, "E", 5)
	last := maxPosition(t, pool)
	opts := fastOptions("a")
	logs := logTo(&opts)
	start(t, pool, opts, seenProjection("proj", nil))
	eventually(t, 10*time.Second, "the consumer reaches the end of the log", func() bool { return status(t, pool, "proj").Position >= last })
	if n, distinct := countSeen(t, pool, "proj"); n != 5 || distinct != 5 {
		t.Fatalf("applied %d events (%d distinct), want 5 once each", n, distinct)
	}
	return logs
}
