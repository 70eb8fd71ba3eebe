package eventstore_test

import (
	"context"
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
}
