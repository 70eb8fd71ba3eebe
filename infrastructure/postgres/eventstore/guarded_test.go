package eventstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/test/pgtest"
)

// A guarded append lands like Append when the expectation holds (one event or several,
// NoStream or Exact), and aborts its transaction with ES409 when it does not.
func TestGuardedAppend(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	guarded := func(s es.StreamID, ev es.ExpectedVersion, events ...es.EventData) ([]es.RecordedEvent, error) {
		sql, args, recorded, err := es.GuardedAppend(s, ev, events)
		if err != nil {
			return nil, err
		}
		return recorded, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql, args...)
			return err
		})
	}
	s := newStream()
	for _, step := range []struct {
		ev     es.ExpectedVersion
		events []es.EventData
		want   []int64
	}{
		{es.NoStream(), []es.EventData{event("A", 1)}, []int64{1}},
		{es.Exact(1), []es.EventData{event("B", 2), event("C", 3)}, []int64{2, 3}},
		{es.Exact(3), []es.EventData{event("D", 4)}, []int64{4}},
	} {
		rec, err := guarded(s, step.ev, step.events...)
		if err != nil {
			t.Fatalf("%s: %v", step.ev, err)
		}
		if got := versionsOf(rec); !slices.Equal(got, step.want) {
			t.Fatalf("%s: versions %v, want %v", step.ev, got, step.want)
		}
	}
	assertNoGaps(t, pool, s, 4)
	read, err := es.ReadStream(ctx, pool, s, es.StreamRange{})
	if err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{"A", "B", "C", "D"} {
		if read[i].Type != typ || read[i].Version != int64(i+1) {
			t.Fatalf("event %d: %s v%d", i, read[i].Type, read[i].Version)
		}
	}
	for _, ev := range []es.ExpectedVersion{es.NoStream(), es.Exact(3), es.Exact(5)} {
		for _, n := range []int{1, 2} {
			events := []es.EventData{event("X", 9), event("Y", 9)}[:n]
			if _, err := guarded(s, ev, events...); !es.IsVersionMismatch(err) {
				t.Fatalf("%s with %d event(s) on a stream at 4: %v, want ES409", ev, n, err)
			}
		}
	}
	assertNoGaps(t, pool, s, 4)
	if _, _, _, err := es.GuardedAppend(s, es.Any(), []es.EventData{event("Z", 1)}); err == nil {
		t.Fatal("a guarded append with Any: no error")
	}
}

// A statement included in a guarded append runs with it: both land when the
// expectation holds, neither when it does not, and the append still returns its
// positions in order. Statements that cannot be a data-modifying CTE are left out.
func TestIncludeStatementInGuardedAppend(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE included (stream text PRIMARY KEY, note text NOT NULL, n int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO included (stream, note, n) SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM included WHERE stream = $1)`
	run := func(s es.StreamID, ev es.ExpectedVersion, note string, events ...es.EventData) ([]int64, error) {
		sql, args, _, err := es.GuardedAppend(s, ev, events)
		if err != nil {
			t.Fatal(err)
		}
		sql, args, ok := es.IncludeStatement(sql, args, insert, []any{s.ID, note, len(events)})
		if !ok {
			t.Fatalf("the insert was not included:\n%s", sql)
		}
		var positions []int64
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, sql, args...)
			positions, err = pgx.CollectRows(rows, pgx.RowTo[int64])
			return err
		})
		return positions, err
	}
	noted := func(s es.StreamID) (note string) {
		if err := pool.QueryRow(ctx, `SELECT coalesce((SELECT note || n FROM included WHERE stream = $1), '')`, s.ID).Scan(&note); err != nil {
			t.Fatal(err)
		}
		return note
	}
	for _, n := range []int{1, 3} {
		s := newStream()
		events := []es.EventData{event("A", 1), event("B", 2), event("C", 3)}[:n]
		positions, err := run(s, es.NoStream(), "placed", events...)
		if err != nil {
			t.Fatalf("%d event(s): %v", n, err)
		}
		if len(positions) != n || !slices.IsSorted(positions) {
			t.Fatalf("%d event(s): positions %v", n, positions)
		}
		if got := noted(s); got != "placed"+fmt.Sprint(n) {
			t.Fatalf("%d event(s): included row %q", n, got)
		}
		if _, err := run(s, es.Exact(int64(n)+5), "stale", event("X", 9)); !es.IsVersionMismatch(err) {
			t.Fatalf("stale expectation: %v, want ES409", err)
		}
		if got := noted(s); got != "placed"+fmt.Sprint(n) {
			t.Fatalf("after the failed append the included row is %q", got)
		}
		assertNoGaps(t, pool, s, int64(n))
	}

	sql, args, _, err := es.GuardedAppend(newStream(), es.NoStream(), []es.EventData{event("A", 1)})
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`WITH x AS (SELECT 1) INSERT INTO included SELECT $1, 'a', 1 FROM x`, // its own WITH
		`SELECT $1`, // not data-modifying
		`INSERT INTO included VALUES ($1, $$a$$, 1)`,      // a $ that is not a parameter
		`UPDATE included SET n = 1; DELETE FROM included`, // two statements
	} {
		if got, gotArgs, ok := es.IncludeStatement(sql, args, stmt, []any{"x"}); ok || got != sql || len(gotArgs) != len(args) {
			t.Errorf("%q was included", stmt)
		}
	}
}
