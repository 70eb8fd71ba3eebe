package pgtest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Two parallel tests write to their own databases and must not see each other's rows.
// The rendezvous makes both databases exist, with their rows, at the same time.
func TestIsolation(t *testing.T) {
	var bothWrote sync.WaitGroup
	bothWrote.Add(2)
	for _, me := range []string{"a", "b"} {
		t.Run(me, func(t *testing.T) {
			t.Parallel()
			isolation(t, me, &bothWrote)
		})
	}
}

func isolation(t *testing.T, me string, bothWrote *sync.WaitGroup) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	begin := time.Now()
	pool := pgtest.NewPool(t)
	t.Logf("NewPool took %v", time.Since(begin).Round(time.Microsecond))

	for _, table := range []string{"events", "aggregate_heads", "order_overview"} {
		var exists bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", "public."+table).Scan(&exists); err != nil || !exists {
			t.Fatalf("table %s: exists=%v err=%v", table, exists, err)
		}
	}
	var db string
	if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	t.Logf("database %s", db)

	if _, err := pool.Exec(ctx, `INSERT INTO aggregate_heads (stream_type, stream_id, version) VALUES ('order', $1, 1)`, me); err != nil {
		t.Fatal(err)
	}
	bothWrote.Done()
	bothWrote.Wait()

	var ids []string
	rows, err := pool.Query(ctx, `SELECT stream_id FROM aggregate_heads ORDER BY stream_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != me {
		t.Errorf("test %s sees stream ids %v, want only its own", me, ids)
	}
}

func TestNewDatabaseURL(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM events").Scan(&n); err != nil || n != 0 {
		t.Fatalf("events: %d, %v", n, err)
	}
}

func TestMaxConns(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t, pgtest.MaxConns(2))
	if got := pool.Config().MaxConns; got != 2 {
		t.Errorf("MaxConns = %d, want 2", got)
	}
}

// TestDatabaseCreationTime reports what a test pays for its own database once the
// server and the template exist.
func TestDatabaseCreationTime(t *testing.T) {
	pgtest.NewDatabase(t) // server and template
	const n = 5
	var total time.Duration
	for i := 0; i < n; i++ {
		t.Run("db", func(t *testing.T) {
			begin := time.Now()
			pgtest.NewPool(t)
			total += time.Since(begin)
		})
	}
	t.Logf("NewPool (CREATE DATABASE ... TEMPLATE + connect) took %v on average; dropping is in the cleanup", (total / n).Round(time.Microsecond))
}

func BenchmarkNewDatabase(b *testing.B) {
	pgtest.NewDatabase(b)
	for b.Loop() {
		b.Run("db", func(b *testing.B) { pgtest.NewDatabase(b) })
	}
}
