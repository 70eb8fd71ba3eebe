package subscription_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fastOptions keep the tests short: quick polls, lock retries and backoff.
func fastOptions(owner string) subscription.Options {
	return subscription.Options{BatchSize: 50, PollInterval: 50 * time.Millisecond, LockRetry: 100 * time.Millisecond,
		MaxAttempts: 3, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Owner: owner, Channel: "test_events"}
}

// appendEvents appends n events, each to its own stream, in one transaction on db.
func appendEvents(t *testing.T, ctx context.Context, db eventstore.DBTX, typ string, n int) []eventstore.RecordedEvent {
	t.Helper()
	var out []eventstore.RecordedEvent
	for range n {
		rec, err := eventstore.Append(ctx, db, eventstore.StreamID{Type: "test", ID: uuid.NewString()}, eventstore.NoStream(),
			[]eventstore.EventData{{Type: typ, SchemaVersion: 1, Payload: json.RawMessage(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec...)
	}
	return out
}

func appendCommitted(t *testing.T, pool *pgxpool.Pool, typ string, n int) []eventstore.RecordedEvent {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	recs := appendEvents(t, ctx, tx, typ, n)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return recs
}

// seenProjection records every event it applies in seen(position); a repeat would
// violate the primary key, and that would show as an error in the checkpoint.
func seenProjection(name string, fail func(eventstore.RecordedEvent) error) subscription.Consumer {
	return subscription.Consumer{
		Name: name,
		Setup: func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS seen (position bigint PRIMARY KEY, consumer text NOT NULL)`)
			return err
		},
		Project: func(e eventstore.RecordedEvent, q subscription.Queue) error {
			if fail != nil {
				if err := fail(e); err != nil {
					return err
				}
			}
			q.Queue(`INSERT INTO seen (position, consumer) VALUES ($1, $2)`, e.Position, name)
			return nil
		},
	}
}

// reactions counts how often a reactor saw each event.
type reactions struct {
	mu   sync.Mutex
	seen map[uuid.UUID]int
}

func (r *reactions) consumer(name string) subscription.Consumer {
	return subscription.Consumer{Name: name, React: func(ctx context.Context, e eventstore.RecordedEvent) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.seen == nil {
			r.seen = map[uuid.UUID]int{}
		}
		r.seen[e.EventID]++
		return nil
	}}
}

func start(t *testing.T, pool *pgxpool.Pool, opts subscription.Options, consumers ...subscription.Consumer) (*subscription.Runtime, context.CancelFunc) {
	t.Helper()
	rt := subscription.New(pool.Config().ConnConfig, opts, consumers...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rt.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return rt, sync.OnceFunc(stop)
}

// stopsAt waits until consumer name stops, and checks that it stopped at bad, after 3
// attempts (fastOptions' MaxAttempts), with an error that says what (contains says
// whether it does), and with the events before bad handled.
func stopsAt(t *testing.T, pool *pgxpool.Pool, name string, bad eventstore.RecordedEvent, contains func(string) bool) {
	t.Helper()
	eventually(t, 10*time.Second, "the consumer stops", func() bool { return status(t, pool, name).Stopped })
	s := status(t, pool, name)
	if s.Position != bad.Position-1 || s.ErrorPosition != bad.Position || s.Attempts != 3 || !contains(s.Error) {
		t.Fatalf("stopped status = %+v, want position %d, error at %d after 3 attempts", s, bad.Position-1, bad.Position)
	}
}

func status(t *testing.T, pool *pgxpool.Pool, name string) subscription.Status {
	t.Helper()
	all, err := subscription.Statuses(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	return subscription.Status{Name: name}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func maxPosition(t *testing.T, pool *pgxpool.Pool) int64 {
	var p int64
	if err := pool.QueryRow(context.Background(), `SELECT coalesce(max(global_position), 0) FROM events`).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func countSeen(t *testing.T, pool *pgxpool.Pool, name string) (n, distinct int) {
	if err := pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT position) FROM seen WHERE consumer = $1`, name).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	return
}

var _ = fmt.Sprint
