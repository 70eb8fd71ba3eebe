package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/test/pgtest"
)

func TestConsumersCommands(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	env := map[string]string{"DATABASE_URL": url}

	if out, _, code := orders(t, env, "consumers", "status"); code != 0 || !strings.HasPrefix(out, "NAME") {
		t.Fatalf("status with no consumers: exit %d, %q", code, out)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO consumer_checkpoints (name, position, owner, error, error_position, attempts, stopped)
		VALUES ('fine', 7, 'host-1', NULL, NULL, 0, false), ('broken', 3, 'host-1', 'cannot decode', 4, 5, true)`); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := orders(t, env, "consumers", "status")
	if code != 1 || !strings.Contains(out, "STOPPED at 4") || !strings.Contains(out, "cannot decode") || !strings.Contains(errOut, "1 of 2") {
		t.Fatalf("status with a stopped consumer: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, _, code := orders(t, env, "consumers", "skip", "broken"); code != 0 || !strings.Contains(out, "position 4") {
		t.Fatalf("skip: exit %d, %q", code, out)
	}
	var pos int64
	if err := pool.QueryRow(ctx, `SELECT position FROM consumer_checkpoints WHERE name = 'broken'`).Scan(&pos); err != nil || pos != 4 {
		t.Fatalf("after skip: position %d, %v", pos, err)
	}
	if _, _, code := orders(t, env, "consumers", "status"); code != 0 {
		t.Fatalf("status after skip: exit %d", code)
	}
	if out, _, code := orders(t, env, "consumers", "reset", "fine", "--to", "2"); code != 0 || !strings.Contains(out, "handles 3 next") {
		t.Fatalf("reset: exit %d, %q", code, out)
	}
	for _, args := range [][]string{
		{"consumers"}, {"consumers", "frobnicate"}, {"consumers", "reset", "fine"}, {"consumers", "reset", "fine", "--to", "-1"},
		{"consumers", "reset", "nobody", "--to", "1"}, {"consumers", "skip"}, {"consumers", "skip", "fine"},
	} {
		if _, _, code := orders(t, env, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, _, code := orders(t, map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"}, "consumers", "status"); code != 2 {
		t.Errorf("status without a database: exit %d, want 2", code)
	}
}
