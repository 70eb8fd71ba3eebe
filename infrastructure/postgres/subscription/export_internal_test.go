package subscription

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// StatusSQL is Statuses' statement, for the plan test.
const StatusSQL = statusSQL

// Active reports whether this instance currently works on a partition of the named
// consumer, for the takeover test.
func (r *Runtime) Active(name string) bool { return len(r.Owned(name)) > 0 }

// Owned lists the partitions of the named consumer this instance works on.
func (r *Runtime) Owned(name string) []int {
	for _, c := range r.consumers {
		if c.Name == name {
			return c.owned()
		}
	}
	return nil
}

// Pause stops (or resumes) this instance's heartbeats, renewals and claims: what a
// paused process (SIGSTOP, a long GC pause) looks like to the others.
func (r *Runtime) Pause(paused bool) { r.paused.Store(paused) }

// MergeSkip is mergeSkip, for its unit test.
func MergeSkip(curN int, cur []int64, olderN int, older []int64, start int64) (int, []int64) {
	s := mergeSkip(skip{curN, cur}, skip{olderN, older}, start)
	return s.N, s.Positions
}

// Advance is advance of partition p of n of the named consumer, for the fence test.
func Advance(ctx context.Context, db eventstore.DBTX, name string, n, p int, epoch, to int64) error {
	return advance(ctx, db, key{name: name, n: n, p: p}, epoch, to)
}

// ErrNotOwner is errNotOwner, for the fence test.
var ErrNotOwner = errNotOwner

// WithDefaults is Options.withDefaults, for its unit test.
func WithDefaults(o Options) Options { return o.withDefaults() }

// WorkerConnConfig is workerConnConfig, for its unit test.
func WorkerConnConfig(base *pgx.ConnConfig, lease time.Duration) *pgx.ConnConfig {
	return workerConnConfig(base, lease)
}
