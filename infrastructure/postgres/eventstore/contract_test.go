package eventstore_test

// The event store's contract, on real PostgreSQL: what Append promises about versions,
// concurrency, atomicity and identity, and what the database itself refuses.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/test/pgtest"
)

func event(typ string, n int) es.EventData {
	return es.EventData{Type: typ, SchemaVersion: 1, Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func newStream() es.StreamID { return es.StreamID{Type: "test", ID: uuid.NewString()} }

// appendTx appends in its own transaction, as the application does.
func appendTx(ctx context.Context, pool *pgxpool.Pool, s es.StreamID, ev es.ExpectedVersion, events ...es.EventData) ([]es.RecordedEvent, error) {
	var out []es.RecordedEvent
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		out, err = es.Append(ctx, tx, s, ev, events)
		return err
	})
	return out, err
}

//nolint:contextcheck // uses the test's context, t.Context
func mustAppend(t *testing.T, pool *pgxpool.Pool, s es.StreamID, ev es.ExpectedVersion, events ...es.EventData) []es.RecordedEvent {
	t.Helper()
	out, err := appendTx(t.Context(), pool, s, ev, events...)
	if err != nil {
		t.Fatalf("append to %s with %s: %v", s, ev, err)
	}
	return out
}

func versionsOf(events []es.RecordedEvent) []int64 {
	v := make([]int64, len(events))
	for i, e := range events {
		v[i] = e.Version
	}
	return v
}

//nolint:contextcheck // uses the test's context, t.Context
func assertNoGaps(t *testing.T, pool *pgxpool.Pool, s es.StreamID, want int64) {
	t.Helper()
	events, err := es.ReadStream(t.Context(), pool, s, es.StreamRange{})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(events)) != want {
		t.Fatalf("stream %s holds %d events, want %d", s, len(events), want)
	}
	for i, e := range events {
		if e.Version != int64(i+1) {
			t.Fatalf("event %d has version %d: the stream has a gap or a duplicate", i, e.Version)
		}
	}
	head, err := es.StreamVersion(context.Background(), pool, s)
	if err != nil {
		t.Fatal(err)
	}
	if head != want {
		t.Fatalf("aggregate_heads says %d, the log holds %d", head, want)
	}
}

func TestAppendAndReadBack(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t), context.Background(), newStream()
	at := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
	in := []es.EventData{
		{Type: "A", SchemaVersion: 3, Payload: json.RawMessage(`{"x":1}`), Metadata: json.RawMessage(`{"who":"me"}`),
			CorrelationID: "corr-1", CausationID: "cause-1", RecordedAt: at},
		event("B", 2),
		event("C", 3),
	}
	out := mustAppend(t, pool, s, es.NoStream(), in...)
	if got := versionsOf(out); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("versions %v, want [1 2 3]", got)
	}
	if out[0].Position >= out[1].Position || out[1].Position >= out[2].Position {
		t.Fatalf("positions not increasing: %d %d %d", out[0].Position, out[1].Position, out[2].Position)
	}
	for _, e := range out {
		if e.EventID.Version() != 7 {
			t.Fatalf("default event id %s is not a UUIDv7", e.EventID)
		}
	}
	read, err := es.ReadStream(ctx, pool, s, es.StreamRange{})
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != 3 {
		t.Fatalf("read %d events, want 3", len(read))
	}
	first := read[0]
	if first.Type != "A" || first.SchemaVersion != 3 || first.CorrelationID != "corr-1" || first.CausationID != "cause-1" ||
		!first.RecordedAt.Equal(at) || first.EventID != out[0].EventID || first.Position != out[0].Position || first.Stream != s {
		t.Fatalf("first event read back as %+v", first)
	}
	var payload, meta map[string]any
	if err := errors.Join(json.Unmarshal(first.Payload, &payload), json.Unmarshal(first.Metadata, &meta)); err != nil {
		t.Fatal(err)
	}
	if payload["x"] != float64(1) || meta["who"] != "me" {
		t.Fatalf("payload %v metadata %v", payload, meta)
	}
	if read[1].CorrelationID != "" || string(read[1].Metadata) != "{}" {
		t.Fatalf("absent metadata read back as %q / %q", read[1].CorrelationID, read[1].Metadata)
	}
}

func TestOneAppendIsOneTransactionAndStatement(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t), context.Background(), newStream()
	mustAppend(t, pool, s, es.NoStream(), event("A", 1), event("A", 2), event("A", 3), event("A", 4))
	var txs int
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT transaction_id::text) FROM events WHERE stream_id = $1`, s.ID).Scan(&txs); err != nil {
		t.Fatal(err)
	}
	if txs != 1 {
		t.Fatalf("4 events of one append were written by %d transactions", txs)
	}
}

func TestExpectedVersions(t *testing.T) {
	t.Parallel()
	pool, ctx := pgtest.NewPool(t), context.Background()

	type step struct {
		expected es.ExpectedVersion
		wantErr  bool
		actual   int64 // on conflict
	}
	cases := []struct {
		name  string
		given int // events already in the stream
		when  step
	}{
		{"NoStream on a new stream", 0, step{es.NoStream(), false, 0}},
		{"NoStream on an existing stream", 2, step{es.NoStream(), true, 2}},
		{"Exact(0) is NoStream", 1, step{es.Exact(0), true, 1}},
		{"Exact at the head", 2, step{es.Exact(2), false, 0}},
		{"Exact behind the head", 3, step{es.Exact(2), true, 3}},
		{"Exact ahead of the head", 1, step{es.Exact(5), true, 1}},
		{"Exact on a new stream", 0, step{es.Exact(1), true, 0}},
		{"the zero value is NoStream", 1, step{es.ExpectedVersion{}, true, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStream()
			for i := 0; i < c.given; i++ {
				mustAppend(t, pool, s, es.Exact(int64(i)), event("A", i))
			}
			out, err := appendTx(ctx, pool, s, c.when.expected, event("B", 0), event("B", 1))
			if !c.when.wantErr {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got := versionsOf(out); fmt.Sprint(got) != fmt.Sprint([]int64{int64(c.given + 1), int64(c.given + 2)}) {
					t.Fatalf("versions %v after %d events", got, c.given)
				}
				assertNoGaps(t, pool, s, int64(c.given+2))
				return
			}
			var conflict *es.ConcurrencyError
			if !errors.Is(err, es.ErrConcurrency) || !errors.As(err, &conflict) {
				t.Fatalf("want a concurrency error, got %v", err)
			}
			if conflict.Stream != s || conflict.Expected != c.when.expected || conflict.Actual != c.when.actual {
				t.Fatalf("conflict %+v, want stream %s expected %s actual %d", conflict, s, c.when.expected, c.when.actual)
			}
			if errors.Is(err, es.ErrDuplicateEvent) {
				t.Fatal("a version conflict must not match ErrDuplicateEvent")
			}
			assertNoGaps(t, pool, s, int64(c.given))
		})
	}
}

// Fifty writers all believe the stream is at version 1; exactly one may be right.
func TestConcurrentExactAppendsHaveOneWinner(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t, pgtest.MaxConns(60)), context.Background(), newStream()
	mustAppend(t, pool, s, es.NoStream(), event("A", 0))

	const writers = 50
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, err := appendTx(ctx, pool, s, es.Exact(1), event("B", i))
			var conflict *es.ConcurrencyError
			switch {
			case err == nil:
				wins.Add(1)
			case errors.As(err, &conflict) && conflict.Actual == 2:
				conflicts.Add(1)
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != writers-1 {
		t.Fatalf("%d winners and %d conflicts, want 1 and %d", wins.Load(), conflicts.Load(), writers-1)
	}
	assertNoGaps(t, pool, s, 2)
}

// Fifty writers each read the version and append with Exact, retrying on conflict,
// until each has landed three events: every version is won exactly once.
func TestConcurrentExactAppendsLeaveNoGaps(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t, pgtest.MaxConns(60)), context.Background(), newStream()
	const writers, each = 50, 3
	var mu sync.Mutex
	wonBy := map[int64]int{}
	var conflicts atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for landed := 0; landed < each; {
				v, err := es.StreamVersion(ctx, pool, s)
				if err != nil {
					t.Error(err)
					return
				}
				out, err := appendTx(ctx, pool, s, es.Exact(v), event("W", w))
				if errors.Is(err, es.ErrConcurrency) {
					conflicts.Add(1)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if prev, dup := wonBy[out[0].Version]; dup {
					t.Errorf("version %d won by writers %d and %d", out[0].Version, prev, w)
				}
				wonBy[out[0].Version] = w
				mu.Unlock()
				landed++
			}
		}(w)
	}
	wg.Wait()
	if len(wonBy) != writers*each {
		t.Fatalf("%d versions won, want %d", len(wonBy), writers*each)
	}
	assertNoGaps(t, pool, s, writers*each)
	if conflicts.Load() == 0 {
		t.Fatal("50 racing writers never conflicted: the test is not racing")
	}
	t.Logf("%d appends, %d conflicts", writers*each, conflicts.Load())
}

func TestConcurrentNoStreamAppendsHaveOneWinner(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t, pgtest.MaxConns(60)), context.Background(), newStream()
	const writers = 50
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, err := appendTx(ctx, pool, s, es.NoStream(), event("Created", i))
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, es.ErrConcurrency):
				conflicts.Add(1)
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != writers-1 {
		t.Fatalf("%d winners and %d conflicts, want 1 and %d", wins.Load(), conflicts.Load(), writers-1)
	}
	assertNoGaps(t, pool, s, 1)
}

// Fifty writers append to one stream, each retrying from the actual version its
// conflicts report: every append lands once, whole.
func TestConcurrentRetriedAppendsAllLand(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t, pgtest.MaxConns(60)), context.Background(), newStream()
	const writers, each = 50, 4
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var at int64
			for i := 0; i < each; {
				_, err := appendTx(ctx, pool, s, es.Exact(at), event("A", w), event("B", w))
				var conflict *es.ConcurrencyError
				switch {
				case err == nil:
					at += 2
					i++
				case errors.As(err, &conflict):
					if conflict.Actual <= at {
						t.Errorf("writer %d: a conflict at version %d reports version %d", w, at, conflict.Actual)
						return
					}
					at = conflict.Actual
				default:
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	assertNoGaps(t, pool, s, writers*each*2)
	// The two events of each append are adjacent: nobody interleaves inside an append.
	events, _ := es.ReadStream(ctx, pool, s, es.StreamRange{})
	for i := 0; i < len(events); i += 2 {
		if events[i].Type != "A" || events[i+1].Type != "B" || string(events[i].Payload) != string(events[i+1].Payload) {
			t.Fatalf("versions %d and %d come from different appends", events[i].Version, events[i+1].Version)
		}
	}
}

func TestRollbackLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t), context.Background(), newStream()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := es.Append(ctx, tx, s, es.NoStream(), []es.EventData{event("A", 1), event("A", 2)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoGaps(t, pool, s, 0)
	var heads int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM aggregate_heads WHERE stream_id = $1`, s.ID).Scan(&heads); err != nil {
		t.Fatal(err)
	}
	if heads != 0 {
		t.Fatal("a rolled-back append left its head row")
	}
	// And the stream is still new for the next writer.
	mustAppend(t, pool, s, es.NoStream(), event("A", 3))
}

func TestDuplicateEventIDIsItsOwnError(t *testing.T) {
	t.Parallel()
	pool, ctx := pgtest.NewPool(t), context.Background()
	id := uuid.Must(uuid.NewV7())
	first := event("A", 1)
	first.EventID = id
	mustAppend(t, pool, newStream(), es.NoStream(), first)

	twice := event("B", 2)
	twice.EventID = uuid.Must(uuid.NewV7())
	for name, events := range map[string][]es.EventData{
		"in another append":   {first},
		"twice in one append": {twice, twice},
	} {
		t.Run(name, func(t *testing.T) {
			s := newStream()
			_, err := appendTx(ctx, pool, s, es.NoStream(), events...)
			var dup *es.DuplicateEventError
			if !errors.Is(err, es.ErrDuplicateEvent) || !errors.As(err, &dup) || dup.EventID != events[0].EventID {
				t.Fatalf("want a duplicate-event error naming %s, got %v", events[0].EventID, err)
			}
			if errors.Is(err, es.ErrConcurrency) {
				t.Fatal("a duplicate event id must not look like a version conflict")
			}
			assertNoGaps(t, pool, s, 0)
		})
	}
}

func TestEventsAreAppendOnlyInTheDatabase(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t), context.Background(), newStream()
	mustAppend(t, pool, s, es.NoStream(), event("A", 1))
	for _, sql := range []string{
		`UPDATE events SET payload = '{"n":2}' WHERE stream_id = $1`,
		`DELETE FROM events WHERE stream_id = $1`,
		`TRUNCATE events`,
	} {
		var err error
		if sql == `TRUNCATE events` {
			_, err = pool.Exec(ctx, sql)
		} else {
			_, err = pool.Exec(ctx, sql, s.ID)
		}
		if err == nil {
			t.Fatalf("%s succeeded", sql)
		}
	}
	events, _ := es.ReadStream(ctx, pool, s, es.StreamRange{})
	if len(events) != 1 || string(events[0].Payload) != `{"n": 1}` {
		t.Fatalf("the event changed: %+v", events)
	}
}

func TestReadStreamRanges(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t), context.Background(), newStream()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		e := event("A", i)
		e.RecordedAt = t0.Add(time.Duration(i) * time.Hour)
		mustAppend(t, pool, s, es.Exact(int64(i)), e)
	}
	for _, c := range []struct {
		r    es.StreamRange
		want string
	}{
		{es.StreamRange{}, "[1 2 3 4 5]"},
		{es.StreamRange{From: 2}, "[2 3 4 5]"},
		{es.StreamRange{To: 3}, "[1 2 3]"},
		{es.StreamRange{From: 2, To: 4}, "[2 3 4]"},
		{es.StreamRange{Until: ptr(t0.Add(90 * time.Minute))}, "[1 2]"},
		{es.StreamRange{Until: ptr(t0.Add(-time.Second))}, "[]"},
		{es.StreamRange{From: 6}, "[]"},
	} {
		got, err := es.ReadStream(ctx, pool, s, c.r)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(versionsOf(got)) != c.want {
			t.Errorf("range %+v read %v, want %s", c.r, versionsOf(got), c.want)
		}
	}
	none, err := es.ReadStream(ctx, pool, newStream(), es.StreamRange{})
	if err != nil || len(none) != 0 {
		t.Fatalf("unknown stream read %v, %v", none, err)
	}
}

func TestAppendRejectsNothingToAppend(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	if _, err := appendTx(context.Background(), pool, newStream(), es.NoStream()); !errors.Is(err, es.ErrNoEvents) {
		t.Fatalf("want ErrNoEvents, got %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
