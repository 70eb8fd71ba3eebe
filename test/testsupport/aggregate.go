package testsupport

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// The checks every aggregate's store tests share, on real PostgreSQL: they are the
// kit's promises (idempotent projections, owned reads, one winner of a race), so that
// an aggregate's own tests state only its own rules.

// Must(call())(t) is call's result, failing the test on its error.
func Must[R any](r R, err error) func(testing.TB) R {
	return func(tb testing.TB) R {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return r
	}
}

// NoPosition drops the log position a command's result carries (X-Event-Position):
// the reads do not carry it.
func NoPosition[S any](v appkit.Versioned[S]) appkit.Versioned[S] {
	v.Position = 0
	return v
}

// CheckProjectionIsIdempotent appends events to the new stream id through store and,
// in that transaction, applies project to them twice, then each once more, last
// first: the read model (reads.Get) must hold what d folds from them, once.
func CheckProjectionIsIdempotent[C, E, S any](t *testing.T, store *aggregatestore.Store[S, E], project aggregatestore.Projection[E],
	d kit.Decider[C, E, S], reads appkit.Owned[C, E, S], id uuid.UUID, events []E) {
	t.Helper()
	ctx := appkit.AsSystem(context.Background())
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	_, err := store.Attempt(ctx, id, appkit.Read, func(ctx context.Context, tx appkit.StreamTx[S, E]) error {
		if err := tx.Append(ctx, 0, events, appkit.Metadata{}, at); err != nil {
			return err
		}
		recorded, queue := Recorded(1, at, events...), tx.(aggregatestore.Queue)
		for range 2 {
			if err := project(queue, id, recorded); err != nil {
				return err
			}
		}
		for i := len(recorded) - 1; i >= 0; i-- {
			if err := project(queue, id, recorded[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := appkit.Versioned[S]{State: d.Fold(d.Initial, events...), Version: int64(len(events))}
	if got := Must(reads.Get(ctx, id))(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("after repeated projection:\n%+v\nwant\n%+v", got, want)
	}
}

// CheckOwnedReads checks the reads every owned aggregate shares (appkit.Owned) on own,
// customer owner's, and others, another customer's: the owner reads its own (Get, as
// of version 1, History); another customer's, and any without a principal, answers
// notFound like a missing one; the events:read scope reads every history.
func CheckOwnedReads[C, E, S any](t *testing.T, reads appkit.Owned[C, E, S], notFound error, owner string, own, others uuid.UUID) {
	t.Helper()
	customer := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: owner})
	Must(reads.Get(customer, own))(t)
	Must(reads.AsOf(customer, own, 1, nil))(t)
	Must(reads.History(customer, appkit.HistoryQuery{ID: own}))(t)
	EachIs(t, notFound, map[string]func() error{
		"get another's":           func() error { _, err := reads.Get(customer, others); return err },
		"another's as of":         func() error { _, err := reads.AsOf(customer, others, 1, nil); return err },
		"another's history":       func() error { _, err := reads.History(customer, appkit.HistoryQuery{ID: others}); return err },
		"get without a principal": func() error { _, err := reads.Get(context.Background(), others); return err },
	})
	reader := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: owner, Scopes: []string{appkit.ScopeEventsRead}})
	if h := Must(reads.History(reader, appkit.HistoryQuery{ID: others}))(t); len(h.Items) == 0 {
		t.Errorf("events:read history of another's: %+v", h)
	}
}

// EachIs runs each of runs and reports every one whose error is not want.
func EachIs(t testing.TB, want error, runs map[string]func() error) {
	t.Helper()
	for name, run := range runs {
		if err := run(); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
}

// CheckOneWins runs try n times at once: exactly one must succeed, and every other
// fail with lost.
func CheckOneWins(t *testing.T, n int, lost error, try func() error) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = try() })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, lost):
			t.Errorf("a loser: %v, want %v", err, lost)
		}
	}
	if won != 1 {
		t.Fatalf("%d won, want exactly 1", won)
	}
}

// PageAll walks a list limit items a page, following each page's NextCursor, and
// returns every item in order.
func PageAll[T any](t testing.TB, limit int, list func(limit int, cursor string) (appkit.Page[T], error)) []T {
	t.Helper()
	var all []T
	for cursor := ""; ; {
		page := Must(list(limit, cursor))(t)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}
