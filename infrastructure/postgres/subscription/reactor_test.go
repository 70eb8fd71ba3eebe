package subscription_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// A reactor moves its checkpoint once per batch, not per event: most events are ones a
// reactor ignores, and a durable checkpoint write each was most of their cost. Here a
// fast batch of 30 events moves it once (a trigger counts the moves).
func TestAReactorMovesItsCheckpointOncePerBatch(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE moves (position bigint NOT NULL);
		CREATE FUNCTION count_move() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.position <> OLD.position THEN
				INSERT INTO moves VALUES (NEW.position);
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER count_move AFTER UPDATE ON consumer_checkpoints FOR EACH ROW EXECUTE FUNCTION count_move()`); err != nil {
		t.Fatal(err)
	}
	appendCommitted(t, pool, "E", 30)
	last := maxPosition(t, pool)
	var r reactions
	start(t, pool, fastOptions("a"), r.consumer("react"))
	eventually(t, 10*time.Second, "the reactor reaches the end of the log", func() bool { return status(t, pool, "react").Position >= last })
	var moves int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM moves`).Scan(&moves); err != nil {
		t.Fatal(err)
	}
	if moves != 1 {
		t.Fatalf("the checkpoint moved %d times for one batch of 30 events, want once", moves)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) != 30 {
		t.Fatalf("reacted to %d events, want 30", len(r.seen))
	}
}

// A slow reactor batch moves the checkpoint within the batch once reactorCheckpointEvery
// (a second) has passed, so a crash repeats at most about a second of work: here each
// the first two events take 600 ms each, and while it reacts to the third the
// checkpoint is at the second; the third takes 1.1 s, so the move at it comes within
// the batch too, and the batch's end finds nothing more to write.
func TestASlowReactorBatchMovesItsCheckpointWithinTheBatch(t *testing.T) {
	pool := pgtest.NewPool(t)
	e := appendCommitted(t, pool, "E", 3)
	atThird := make(chan int64, 1)
	reactor := subscription.Consumer{Name: "react", React: func(ctx context.Context, ev eventstore.RecordedEvent) error {
		if ev.EventID == e[2].EventID {
			atThird <- positionOf(ctx, pool, "react") // not status: this is the worker's goroutine
			time.Sleep(1100 * time.Millisecond)
			return nil
		}
		time.Sleep(600 * time.Millisecond)
		return nil
	}}
	start(t, pool, fastOptions("a"), reactor)
	select {
	case p := <-atThird:
		if p != e[1].Position {
			t.Fatalf("checkpoint at %d while reacting to the third event, want the second's %d", p, e[1].Position)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reactor does not reach the third event")
	}
	eventually(t, 10*time.Second, "the reactor reaches the end of the batch", func() bool { return status(t, pool, "react").Position >= e[2].Position })
}

// positionOf is the consumer's checkpoint position as Statuses reads it, -1 if it
// cannot be read: for a handler, which runs on the worker's goroutine (no t.Fatal).
func positionOf(ctx context.Context, pool *pgxpool.Pool, name string) int64 {
	all, err := subscription.Statuses(ctx, pool)
	for _, st := range all {
		if err == nil && st.Name == name {
			return st.Position
		}
	}
	return -1
}
