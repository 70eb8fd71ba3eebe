package subscription_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// A handler that fails because a database is unavailable (here PostgreSQL's "shutting
// down", 57P01, as a reactor's own query would get it) is retried for as long as that
// lasts, not counted towards MaxAttempts: the consumer does not stop, and handles the
// event once the database answers again.
func TestAnOutageIsRetriedNotCountedAsTheEventsFailure(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 1)
	last := maxPosition(t, pool)
	var tries atomic.Int32
	reactor := subscription.Consumer{Name: "react", React: func(context.Context, eventstore.RecordedEvent) error {
		if tries.Add(1) <= 5 { // more than MaxAttempts (3)
			return fmt.Errorf("react: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"})
		}
		return nil
	}}
	start(t, pool, fastOptions("a"), reactor)
	eventually(t, 20*time.Second, "the reactor handles the event once the outage ends", func() bool { return status(t, pool, "react").Position >= last })
	if s := status(t, pool, "react"); s.Stopped || !s.Healthy() {
		t.Fatalf("after an outage: %+v, want running and healthy", s)
	}
}
