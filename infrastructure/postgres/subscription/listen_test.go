package subscription_test

import (
	"context"
	"testing"
	"time"

	"github.com/example/orders/test/pgtest"
)

// A runtime with a Channel LISTENs on it: a NOTIFY there makes an idle consumer read at
// once, not at its next poll (a minute away here).
func TestANotificationWakesAnIdleConsumer(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	first := appendCommitted(t, pool, "First", 1)[0]
	opts := fastOptions("a")
	opts.PollInterval = time.Minute
	start(t, pool, opts, seenProjection("proj", nil))
	eventually(t, 5*time.Second, "the consumer is idle, caught up", func() bool { return status(t, pool, "proj").Position >= first.Position })
	time.Sleep(100 * time.Millisecond) // into its wait for a wake-up; not an assertion of timing
	next := appendCommitted(t, pool, "Next", 1)[0]
	if _, err := pool.Exec(ctx, `SELECT pg_notify($1, '')`, opts.Channel); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the notified consumer reads the new event", func() bool { return status(t, pool, "proj").Position >= next.Position })
}
