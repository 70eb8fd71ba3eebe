package subscription_test

import (
	"context"
	"testing"
	"time"

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
