package eventstore_test

// What the contract tests take for granted: the events Append returns are the events
// stored, errors that are not PostgreSQL's pass through unchanged, a guarded append
// stores what it was given (the time of a single event included), and the horizon
// answers at once when the log is quiet and polls gently when it is not.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/test/pgtest"
)

// checkStored compares events as an append returned them with the same events read
// back (the payload and metadata as JSON values: jsonb normalises their text).
func checkStored(t *testing.T, returned, read []es.RecordedEvent) {
	t.Helper()
	if len(returned) != len(read) {
		t.Fatalf("returned %d events, %d stored", len(returned), len(read))
	}
	for i, r := range returned {
		s := read[i]
		if r.Stream != s.Stream || r.Version != s.Version || r.Position != s.Position || r.EventID != s.EventID ||
			r.Type != s.Type || r.SchemaVersion != s.SchemaVersion || !r.RecordedAt.Equal(s.RecordedAt) ||
			r.CorrelationID != s.CorrelationID || r.CausationID != s.CausationID {
			t.Errorf("event %d returned as\n%+v\nstored as\n%+v", i, r, s)
		}
		if !sameJSON(r.Payload, s.Payload) || (len(r.Metadata) > 0 && !sameJSON(r.Metadata, s.Metadata)) {
			t.Errorf("event %d: payload %s / metadata %s returned, %s / %s stored", i, r.Payload, r.Metadata, s.Payload, s.Metadata)
		}
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// Append returns each event where it landed: its version, its global position, its
// id (a new one where none was given), its schema version (1 where none was given)
// and its recorded time, exactly as a read finds them.
func TestAppendReturnsTheEventsAsStored(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t), context.Background(), newStream()
	mustAppend(t, pool, s, es.NoStream(), event("A", 0))
	given := es.EventData{EventID: uuid.Must(uuid.NewV7()), Type: "B", SchemaVersion: 3, Payload: json.RawMessage(`{"b":1}`),
		Metadata: json.RawMessage(`{"actor":"alice"}`), CorrelationID: "corr", CausationID: "cause",
		RecordedAt: time.Date(2026, 2, 3, 4, 5, 6, 789000, time.UTC)}
	unversioned := event("C", 2)
	unversioned.SchemaVersion = 0
	out := mustAppend(t, pool, s, es.Exact(1), given, unversioned, event("D", 3))
	if got := versionsOf(out); fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("versions %v, want [2 3 4]", got)
	}
	if out[0].EventID != given.EventID || out[1].EventID == uuid.Nil || out[0].SchemaVersion != 3 || out[1].SchemaVersion != 1 {
		t.Fatalf("returned %+v", out)
	}
	if !out[0].RecordedAt.Equal(given.RecordedAt) || out[1].RecordedAt.IsZero() {
		t.Fatalf("recorded at %v and %v, want %v and the database's now", out[0].RecordedAt, out[1].RecordedAt, given.RecordedAt)
	}
	read, err := es.ReadStream(ctx, pool, s, es.StreamRange{From: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, out, read)
	if out[0].Position >= out[1].Position || out[1].Position >= out[2].Position {
		t.Fatalf("positions %d %d %d are not increasing", out[0].Position, out[1].Position, out[2].Position)
	}
}

// A stream needs a type and an id; without either nothing is written, by Append or by
// a guarded append.
func TestAppendNeedsAStreamTypeAndID(t *testing.T) {
	t.Parallel()
	pool, ctx := pgtest.NewPool(t), context.Background()
	id := uuid.NewString()
	for _, s := range []es.StreamID{{Type: "", ID: id}, {Type: "test", ID: ""}, {}} {
		if _, err := appendTx(ctx, pool, s, es.NoStream(), event("A", 1)); err == nil || !strings.Contains(err.Error(), "stream type and id must be set") {
			t.Errorf("Append to %q: %v, want refused", s, err)
		}
		if _, _, _, err := es.GuardedAppend(s, es.NoStream(), []es.EventData{event("A", 1)}); err == nil || !strings.Contains(err.Error(), "stream type and id must be set") {
			t.Errorf("GuardedAppend to %q: %v, want refused", s, err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id IN ($1, '')`, id).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d events stored (%v)", n, err)
	}
	if _, _, _, err := es.GuardedAppend(newStream(), es.NoStream(), nil); !errors.Is(err, es.ErrNoEvents) {
		t.Fatalf("GuardedAppend of nothing: %v, want ErrNoEvents", err)
	}
	if _, _, _, err := es.GuardedAppend(newStream(), es.NoStream(), []es.EventData{{Type: "A"}}); err == nil {
		t.Fatal("GuardedAppend of an event without a payload: no error")
	}
}

// An error that is not PostgreSQL's (a closed transaction, an ended context) comes
// back wrapped, as itself: it is no conflict and no duplicate.
func TestAppendPassesOnOtherErrors(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t), context.Background(), newStream()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = es.Append(ctx, tx, s, es.NoStream(), []es.EventData{event("A", 1)})
	if !errors.Is(err, pgx.ErrTxClosed) || errors.Is(err, es.ErrConcurrency) || errors.Is(err, es.ErrDuplicateEvent) {
		t.Fatalf("append in a closed transaction: %v, want pgx.ErrTxClosed", err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := appendTx(ended, pool, s, es.NoStream(), event("A", 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with an ended context: %v, want context.Canceled", err)
	}
	assertNoGaps(t, pool, s, 0)
}

func TestIsVersionMismatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("connection reset"), false}, // not PostgreSQL's
		{context.Canceled, false},
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: es.VersionMismatchCode}, true},
		{fmt.Errorf("commit: %w", &pgconn.PgError{Code: es.VersionMismatchCode}), true},
	} {
		if got := es.IsVersionMismatch(c.err); got != c.want {
			t.Errorf("IsVersionMismatch(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// A guarded append stores what it was given: for one event (scalar parameters) as
// for several (arrays), the recorded time when given and the database's time when not,
// the ids, schema versions, metadata and correlation; and the events it returns say
// so (their positions are not known until the batch is answered).
func TestGuardedAppendStoresWhatItWasGiven(t *testing.T) {
	t.Parallel()
	pool, ctx := pgtest.NewPool(t), context.Background()
	at := time.Date(2025, 12, 24, 18, 30, 0, 123000, time.UTC)
	given := func(n int) es.EventData {
		return es.EventData{Type: fmt.Sprintf("E%d", n), SchemaVersion: n % 3, Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
			Metadata: json.RawMessage(`{"command":"Test"}`), CorrelationID: fmt.Sprintf("corr-%d", n), CausationID: fmt.Sprintf("cause-%d", n)}
	}
	for _, c := range []struct {
		name string
		n    int
		at   time.Time
	}{{"one event at a given time", 1, at}, {"one event now", 1, time.Time{}}, {"two events at a given time", 2, at}, {"two events now", 2, time.Time{}}} {
		s := newStream()
		mustAppend(t, pool, s, es.NoStream(), event("First", 0))
		events := make([]es.EventData, c.n)
		for i := range events {
			events[i] = given(i + 1)
			events[i].RecordedAt = c.at
		}
		events[0].EventID = uuid.Must(uuid.NewV7())
		before := time.Now()
		sql, args, recorded, err := es.GuardedAppend(s, es.Exact(1), events)
		if err != nil {
			t.Fatal(err)
		}
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, sql, args...); return err }); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		read, err := es.ReadStream(ctx, pool, s, es.StreamRange{From: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(read) != c.n || len(recorded) != c.n {
			t.Fatalf("%s: %d returned, %d stored", c.name, len(recorded), len(read))
		}
		for i, r := range read {
			want := events[i]
			if r.Version != int64(i+2) || r.Type != want.Type || r.SchemaVersion != max(want.SchemaVersion, 1) ||
				r.CorrelationID != want.CorrelationID || r.CausationID != want.CausationID || !sameJSON(r.Metadata, want.Metadata) ||
				!sameJSON(r.Payload, want.Payload) || r.Position == 0 {
				t.Errorf("%s: event %d stored as %+v, given %+v", c.name, i, r, want)
			}
			if c.at.IsZero() {
				if r.RecordedAt.Before(before.Add(-time.Minute)) || r.RecordedAt.After(time.Now().Add(time.Minute)) {
					t.Errorf("%s: event %d recorded at %v, want the database's now (about %v)", c.name, i, r.RecordedAt, before)
				}
			} else if !r.RecordedAt.Equal(c.at) {
				t.Errorf("%s: event %d recorded at %v, want %v", c.name, i, r.RecordedAt, c.at)
			}
			rec := recorded[i]
			if rec.Stream != s || rec.Version != r.Version || rec.EventID != r.EventID || rec.SchemaVersion != r.SchemaVersion ||
				rec.Type != r.Type || rec.Position != 0 {
				t.Errorf("%s: event %d returned as %+v, stored as %+v", c.name, i, rec, r)
			}
		}
		if read[0].EventID != events[0].EventID {
			t.Errorf("%s: the given id %s was stored as %s", c.name, events[0].EventID, read[0].EventID)
		}
	}
}

// countingDB counts the statements run through it.
type countingDB struct {
	es.DBTX
	queries atomic.Int64
}

func (c *countingDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.queries.Add(1)
	return c.DBTX.QueryRow(ctx, sql, args...)
}

// On a quiet log the horizon reaches the last event at once, on its first call and
// with the default wait: its own sample is final as soon as its transaction ends.
// (Not parallel: a test holding a transaction open would hold the horizon back.)
func TestHorizonOfAQuietLogIsAtItsEnd(t *testing.T) {
	pool, ctx := pgtest.NewPool(t), context.Background()
	last := mustAppend(t, pool, newStream(), es.NoStream(), event("A", 1), event("A", 2))[1].Position
	h := &es.Horizon{}
	safe, err := h.Safe(ctx, pool)
	if err != nil || safe < last {
		t.Fatalf("the first horizon of a quiet log is %d (%v), want at least %d", safe, err, last)
	}
	slow := &es.Horizon{Wait: 30 * time.Second}
	start := time.Now()
	safe, latest, err := slow.Bounds(ctx, pool)
	if err != nil || safe < last || latest < last {
		t.Fatalf("bounds %d, %d (%v), want at least %d", safe, latest, err, last)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("the horizon of a quiet log took %v: it waited for Wait instead of its own sample", waited)
	}
}

// While a transaction stays open the horizon cannot pass it: Bounds waits up to Wait,
// polling with a growing pause (up to 20ms), not in a busy loop, and settles for what
// is known; the committed events above are in latest.
func TestHorizonWaitsForAnOpenTransactionGently(t *testing.T) {
	pool, ctx := pgtest.NewPool(t), context.Background()
	before := mustAppend(t, pool, newStream(), es.NoStream(), event("A", 1))[0].Position
	open, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = open.Rollback(ctx) }()
	held, err := es.Append(ctx, open, newStream(), es.NoStream(), []es.EventData{event("Held", 2)})
	if err != nil {
		t.Fatal(err)
	}
	after := mustAppend(t, pool, newStream(), es.NoStream(), event("A", 3))[0].Position

	db := &countingDB{DBTX: pool}
	const wait = 300 * time.Millisecond
	start := time.Now()
	safe, latest, err := (&es.Horizon{Wait: wait}).Bounds(ctx, db)
	waited := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if safe >= held[0].Position || latest < after {
		t.Fatalf("bounds %d, %d with position %d held open (committed: %d, %d)", safe, latest, held[0].Position, before, after)
	}
	if waited < wait {
		t.Fatalf("gave up after %v, before the %v wait", waited, wait)
	}
	// Pauses of 1, 3, 7, 15 then 20ms: about 18 reads in 300ms.
	if n := db.queries.Load(); n < 5 || n > 40 {
		t.Fatalf("%d statements in a %v wait, want a poll every few milliseconds", n, waited.Round(time.Millisecond))
	}
}

func TestReadFeedNeedsAPositiveLimit(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	for _, limit := range []int{0, -1} {
		if _, err := es.ReadFeed(context.Background(), pool, &es.Horizon{}, es.FeedQuery{Limit: limit, ScanLimit: 10}); err == nil {
			t.Errorf("limit %d: no error", limit)
		}
	}
}

// Events written without moving the stream's head (nothing in the service does that)
// still cannot be overwritten: the append that collides is a conflict, with no version
// to report.
func TestEventsWrittenAroundTheHeadStillConflict(t *testing.T) {
	t.Parallel()
	pool, ctx, s := pgtest.NewPool(t), context.Background(), newStream()
	if _, err := pool.Exec(ctx, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		VALUES ($1, $2, 1, $3, 'Stray', 1, '{}')`, s.Type, s.ID, uuid.Must(uuid.NewV7())); err != nil {
		t.Fatal(err)
	}
	_, err := appendTx(ctx, pool, s, es.NoStream(), event("A", 1))
	var conflict *es.ConcurrencyError
	if !errors.As(err, &conflict) || conflict.Stream != s || conflict.Expected != es.NoStream() || conflict.Actual != -1 {
		t.Fatalf("append onto a stray event: %v (%+v), want a conflict with actual version -1", err, conflict)
	}
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8057")
	for _, c := range []struct {
		err  error
		want string
	}{
		{&es.ConcurrencyError{Stream: es.StreamID{Type: "order", ID: "42"}, Expected: es.Exact(3), Actual: 4},
			"eventstore: stream order/42: expected version 3, found version 4"},
		{&es.ConcurrencyError{Stream: es.StreamID{Type: "order", ID: "42"}, Expected: es.NoStream(), Actual: 1},
			"eventstore: stream order/42: expected no stream, found version 1"},
		{&es.DuplicateEventError{EventID: id, Detail: "Key (event_id)=(" + id.String() + ") already exists."},
			"eventstore: event id " + id.String() + " is already stored"},
		{&es.DuplicateEventError{Detail: "Key (x)=(y) already exists."},
			"eventstore: an event id is already stored: Key (x)=(y) already exists."},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%#v.Error() = %q, want %q", c.err, got, c.want)
		}
	}
}

// Full pages: a page of Limit events says where the next starts (its last event), and
// is never at the head, even when nothing follows, since it cannot know; a page that
// is not full and looked at everything up to the horizon is at the head, there.
func TestFeedFullPages(t *testing.T) {
	t.Parallel()
	pool, ctx := pgtest.NewPool(t), context.Background()
	var pos []int64
	for i := range 5 {
		typ := "A"
		if i == 4 {
			typ = "B"
		}
		pos = append(pos, mustAppend(t, pool, newStream(), es.NoStream(), event(typ, i))[0].Position)
	}
	h := &es.Horizon{}
	horizon := feedEventually(t, pool, h, es.FeedQuery{Limit: 100, ScanLimit: 100}, 5).Horizon
	type page struct {
		positions []int64
		next      int64
		atHead    bool
	}
	read := func(q es.FeedQuery) page {
		t.Helper()
		q.HorizonHint = horizon
		p, err := es.ReadFeed(ctx, pool, h, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range p.Events {
			got = append(got, e.Position)
		}
		return page{got, p.NextAfter, p.AtHead}
	}
	for _, c := range []struct {
		name string
		q    es.FeedQuery
		want page
	}{
		{"unfiltered, a full page", es.FeedQuery{Limit: 2}, page{pos[0:2], pos[1], false}},
		{"unfiltered, the last full page", es.FeedQuery{After: pos[2], Limit: 2}, page{pos[3:5], pos[4], false}},
		{"unfiltered, the last page", es.FeedQuery{After: pos[3], Limit: 2}, page{pos[4:5], horizon, true}},
		{"filtered, a full page with rows behind it", es.FeedQuery{Limit: 2, Types: []string{"A"}, ScanLimit: 100}, page{pos[0:2], pos[1], false}},
		{"filtered, a full page with a skipped row behind it", es.FeedQuery{After: pos[1], Limit: 2, Types: []string{"A"}, ScanLimit: 100}, page{pos[2:4], pos[3], false}},
		{"filtered, a full page that is the rest", es.FeedQuery{After: pos[2], Limit: 2, Types: []string{"A", "B"}, ScanLimit: 100}, page{pos[3:5], horizon, true}},
		{"filtered, a full page ending the scan", es.FeedQuery{Limit: 2, Types: []string{"A"}, ScanLimit: 2}, page{pos[0:2], pos[1], false}},
		{"filtered, a scan that found nothing", es.FeedQuery{Limit: 2, Types: []string{"B"}, ScanLimit: 2}, page{nil, pos[1], false}},
		{"by stream type", es.FeedQuery{After: pos[2], Limit: 5, StreamType: "test", ScanLimit: 100}, page{pos[3:5], horizon, true}},
	} {
		if got := read(c.q); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// A horizon keeps at most 64 samples waiting behind a long transaction (the newest:
// an older one's position is covered by theirs), and reaches the end of the log once
// that transaction ends. (Not parallel: the open transaction holds every horizon back.)
func TestHorizonKeepsTheNewestSamples(t *testing.T) {
	pool, ctx := pgtest.NewPool(t), context.Background()
	open, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = open.Rollback(ctx) }()
	if _, err := open.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	h := &es.Horizon{Wait: time.Millisecond}
	var last int64
	for i := range 70 {
		last = mustAppend(t, pool, newStream(), es.NoStream(), event("A", i))[0].Position
		if safe, err := h.Safe(ctx, pool); err != nil || safe >= last {
			t.Fatalf("sample %d: horizon %d (%v) passed an open transaction", i, safe, err)
		}
	}
	if err := open.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	h.Wait = 0
	if safe, err := h.Safe(ctx, pool); err != nil || safe < last {
		t.Fatalf("after the transaction ended: horizon %d (%v), want at least %d", safe, err, last)
	}
}
