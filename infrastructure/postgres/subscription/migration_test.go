package subscription_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/example/orders/migrations"
	"github.com/example/orders/test/pgtest"
)

// TestMigration14Down: `migrate down` from 00014 (partitioned consumers) keeps one
// checkpoint per consumer, at the lowest position of its partitions (nothing is
// skipped; what the others had handled beyond it is repeated, idempotently), drops the
// partition, lease and skip columns and consumer_members, and keys the table by name
// again; `migrate up` then makes each row partition 0 of 1 at the same position.
func TestMigration14Down(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `
		INSERT INTO consumer_checkpoints (name, partitions, partition, position, owner, epoch, lease_until, heartbeat_at, skip_partitions, skip_positions)
		VALUES ('four', 4, 0, 100, 'host-1-aaaa', 7, now() + interval '5 seconds', now(), 1, '{60}'),
		       ('four', 4, 1, 80, 'host-2-bbbb', 3, now() + interval '5 seconds', now(), 1, '{60}'),
		       ('four', 4, 2, 120, NULL, 2, NULL, NULL, 1, '{60}'),
		       ('four', 4, 3, 90, 'host-1-aaaa', 9, now() - interval '1 second', now(), 1, '{60}'),
		       ('one', 1, 0, 50, 'host-1-aaaa', 4, now() + interval '5 seconds', now(), 0, '{}');
		INSERT INTO consumer_checkpoints (name, partitions, partition, position, error, error_position, attempts, stopped)
		VALUES ('failing', 2, 0, 30, NULL, NULL, 0, false), ('failing', 2, 1, 40, 'boom', 41, 5, true);
		INSERT INTO consumer_members (name, owner, partitions) VALUES ('four', 'host-1-aaaa', 4), ('four', 'host-2-bbbb', 4)`); err != nil {
		t.Fatal(err)
	}

	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }()
	p, err := migrations.NewProvider(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatalf("down to 13: %v", err)
	}
	if v, err := p.GetDBVersion(ctx); err != nil || v != 13 {
		t.Fatalf("version after down: %d %v", v, err)
	}
	type row struct {
		name     string
		position int64
	}
	rows := collect(t, pool, `SELECT name, position FROM consumer_checkpoints ORDER BY name`, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.name, &x.position)
	})
	if want := []row{{"failing", 30}, {"four", 80}, {"one", 50}}; !slices.Equal(rows, want) {
		t.Errorf("after down: %v, want %v (one row per consumer at its lowest position)", rows, want)
	}
	cols := collect(t, pool, `SELECT column_name::text FROM information_schema.columns WHERE table_name = 'consumer_checkpoints' ORDER BY column_name`,
		pgx.RowTo[string])
	for _, gone := range []string{"partitions", "partition", "epoch", "lease_until", "heartbeat_at", "skip_partitions", "skip_positions"} {
		if slices.Contains(cols, gone) {
			t.Errorf("after down: column %s is still there (%v)", gone, cols)
		}
	}
	var members bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('consumer_members') IS NOT NULL`).Scan(&members); err != nil || members {
		t.Errorf("after down: consumer_members still there (%v, %v)", members, err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO consumer_checkpoints (name) VALUES ('four')`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Errorf("after down: a second row for a name: %v, want a unique violation (the key is the name again)", err)
	}

	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	type part struct {
		name          string
		n, p          int
		position      int64
		epoch         int64
		skipN, skipPs int
	}
	parts := collect(t, pool, `SELECT name, partitions, partition, position, epoch, skip_partitions, cardinality(skip_positions)
		FROM consumer_checkpoints ORDER BY name`, func(r pgx.CollectableRow) (part, error) {
		var x part
		return x, r.Scan(&x.name, &x.n, &x.p, &x.position, &x.epoch, &x.skipN, &x.skipPs)
	})
	want := []part{{"failing", 1, 0, 30, 0, 0, 0}, {"four", 1, 0, 80, 0, 0, 0}, {"one", 1, 0, 50, 0, 0, 0}}
	if !slices.Equal(parts, want) {
		t.Errorf("after up again: %v, want %v", parts, want)
	}
}

func collect[T any](t *testing.T, pool *pgxpool.Pool, sql string, fn pgx.RowToFunc[T]) []T {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, fn)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
