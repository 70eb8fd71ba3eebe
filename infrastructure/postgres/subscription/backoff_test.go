package subscription_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/test/pgtest"
)

// After a failed attempt at an event the consumer waits RetryBase, doubling with each
// failure (RetryMax at most), before it tries the event again: here 200 ms, then
// 400 ms, and the third failure stops it. Every failure counts, the first one too,
// where the event came after another in its batch (applied on its own).
func TestRetriesOfAFailingEventBackOffDoubling(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "Good", 1)
	appendCommitted(t, pool, "Bad", 1)
	var mu sync.Mutex
	var tries []time.Time
	opts := fastOptions("a")
	opts.RetryBase, opts.RetryMax = 200*time.Millisecond, 10*time.Second
	start(t, pool, opts, seenProjection("proj", func(e eventstore.RecordedEvent) error {
		if e.Type != "Bad" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		tries = append(tries, time.Now())
		return errors.New("cannot apply")
	}))
	eventually(t, 10*time.Second, "the consumer stops", func() bool { return status(t, pool, "proj").Stopped })
	mu.Lock()
	defer mu.Unlock()
	if len(tries) != 3 {
		t.Fatalf("%d attempts at the failing event, want 3 (MaxAttempts)", len(tries))
	}
	// Lower bounds are the backoff; the upper ones leave room for a read and a loaded
	// machine, yet sit below the next doubling.
	if g := tries[1].Sub(tries[0]); g < 200*time.Millisecond || g >= 600*time.Millisecond {
		t.Errorf("first backoff %v, want 200 ms", g)
	}
	if g := tries[2].Sub(tries[1]); g < 400*time.Millisecond || g >= 1200*time.Millisecond {
		t.Errorf("second backoff %v, want 400 ms", g)
	}
}
