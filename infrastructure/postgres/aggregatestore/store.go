package aggregatestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// Codec maps an aggregate's events to what the event store keeps and back;
// *eventcodec.Registry is one.
type Codec[E any] interface {
	Encode(event E) (name string, version int, payload []byte, err error)
	Decode(name string, version int, payload []byte) (E, error)
}

// Projection brings an inline read model up to date with events just appended to one
// stream, in the appending transaction: it queues its statements on q, so they travel
// with COMMIT and a failure there rolls the events back too. Its statements must be
// idempotent by version (applying an event twice changes nothing). The events' Position
// may be 0: an append sent in the same batch as the projection's statements has not
// told its global positions yet.
type Projection[E any] func(q Queue, id uuid.UUID, events []application.RecordedEvent[E]) error

// Queue takes statements to run later in the same transaction, without waiting for
// their results; *Tx is one.
type Queue interface {
	Defer(sql string, args ...any)
}

// Config is what an aggregate brings to a Store: its stream type, how its events are
// encoded, how its state folds, and its inline read model.
type Config[S, E any] struct {
	StreamType string // e.g. "order"; streams are named (StreamType, id)
	Codec      Codec[E]
	Initial    S
	Fold       func(state S, events ...E) S
	Project    Projection[E] // nil: no inline read model
	// CachedStates is how many folded states the Store keeps; 0 disables the cache, so
	// that every command folds the whole stream (from its snapshot, if any).
	CachedStates int
	// Snapshots, when set, persists folded states (table snapshots), so that the first
	// command on a long stream that is not cached folds only the events after the
	// snapshot. nil: no snapshots.
	Snapshots *Snapshots[S]
}

// DefaultCachedStates is a sensible CachedStates for a service.
const DefaultCachedStates = 10_000

// Store implements application.Transactor for one aggregate type on a connection pool.
type Store[S, E any] struct {
	pool      *pgxpool.Pool
	cfg       Config[S, E]
	cache     *stateCache[S]
	snapshots chan struct{} // slots for snapshot writers in flight
	// appends, when set, is told of every append statement (metrics); see observe.go.
	appends AppendObserver
}

// New returns a Store writing through pool.
func New[S, E any](pool *pgxpool.Pool, cfg Config[S, E]) *Store[S, E] {
	s := &Store[S, E]{pool: pool, cfg: cfg}
	if cfg.CachedStates > 0 {
		s.cache = newStateCache[S](cfg.CachedStates)
	}
	if cfg.Snapshots != nil {
		if cfg.Snapshots.Every <= 0 {
			cfg.Snapshots.Every = DefaultSnapshotEvery
		}
		s.snapshots = make(chan struct{}, 4)
	}
	return s
}

// Stream names the stream of the aggregate with this id.
func (s *Store[S, E]) Stream(id uuid.UUID) eventstore.StreamID {
	return eventstore.StreamID{Type: s.cfg.StreamType, ID: id.String()}
}

// WithinTx runs fn in a READ COMMITTED transaction. That level is enough: the append's
// version check on the head row is what serialises writers to one stream.
//
// In the common case the whole transaction is one round trip. Load answers from the
// state cache, or takes a stream it has no state for to be new, without reading
// (unverified); an Append on such a state is queued, guarded, with the read-model
// writes, the idempotency response and COMMIT, all sent in one batch. If the stream was
// not where the unverified state said, the guarded append aborts the transaction inside
// that batch; and if fn decided anything else on an unverified state (a rejection, a
// failed If-Match, nothing to append), nothing of it is trusted. Either way fn runs
// once more, reading what it loads first (the read-then-append path), so every answer
// is one that the stream as stored gives. fn must therefore be safe to run twice.
func (s *Store[S, E]) WithinTx(ctx context.Context, fn func(context.Context, application.StreamTx[S, E]) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return postgres.Classify(err)
	}
	defer conn.Release()
	for verify := false; ; verify = true {
		t := &streamTx[S, E]{Tx: &Tx{conn: conn.Conn()}, store: s, verify: verify}
		if err := fn(ctx, t); err != nil {
			t.rollback(ctx)
			if t.guessed() && ctx.Err() == nil {
				continue
			}
			return postgres.Classify(err)
		}
		if t.guessed() {
			t.rollback(ctx)
			continue
		}
		start := time.Now()
		err := t.commit(ctx)
		if o := s.appends; o != nil && t.guardedEvents > 0 {
			o.Appended(s.cfg.StreamType, t.guardedEvents, time.Since(start), err)
		}
		if err != nil {
			t.rollback(ctx)
			if eventstore.IsVersionMismatch(err) && !verify {
				for id := range t.unverified {
					s.cache.missed(id)
				}
				continue
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				// The COMMIT left but no answer came back: it may have committed.
				return fmt.Errorf("%w: %w", application.ErrOutcomeUnknown, postgres.Classify(err))
			}
			return postgres.Classify(err)
		}
		for id, view := range t.written {
			if p, ok := t.committed[id]; ok {
				view.Position = p
			}
			s.cache.put(id, view)
			if from := t.loaded0[id]; s.cfg.Snapshots != nil && view.Version/s.cfg.Snapshots.Every > from/s.cfg.Snapshots.Every {
				s.snapshot(ctx, id, view)
			}
		}
		return nil
	}
}

// History returns a stream's events in version order, decoded, within r.
func (s *Store[S, E]) History(ctx context.Context, id uuid.UUID, r eventstore.StreamRange) ([]application.RecordedEvent[E], error) {
	return s.read(ctx, s.pool, id, r)
}

func (s *Store[S, E]) read(ctx context.Context, db eventstore.DBTX, id uuid.UUID, r eventstore.StreamRange) ([]application.RecordedEvent[E], error) {
	stored, err := eventstore.ReadStream(ctx, db, s.Stream(id), r)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	recorded := make([]application.RecordedEvent[E], len(stored))
	for i, e := range stored {
		event, err := s.cfg.Codec.Decode(e.Type, e.SchemaVersion, e.Payload)
		if err != nil {
			return nil, fmt.Errorf("%s %s: event %d: %w", s.cfg.StreamType, id, e.Version, err)
		}
		recorded[i] = recordedOf(e, event)
	}
	return recorded, nil
}

// streamTx is one transaction's implementation of application.StreamTx.
type streamTx[S, E any] struct {
	*Tx
	store   *Store[S, E]
	verify  bool                                   // Load reads the stream; no guarded appends
	loaded  map[uuid.UUID]application.Versioned[S] // as read by Load
	loaded0 map[uuid.UUID]int64                    // the version Load found
	written map[uuid.UUID]application.Versioned[S] // after this transaction's appends
	// unverified are the streams Load answered without reading; true once a guarded
	// append on that state is queued.
	unverified map[uuid.UUID]bool
	// guardedEvents counts the events of the guarded appends queued for the commit.
	guardedEvents int
	// committed is the position of each stream's last event appended with the commit,
	// known once the commit is answered.
	committed map[uuid.UUID]int64
}

// committedAt reads the positions a guarded append returns with the commit.
func (t *streamTx[S, E]) committedAt(id uuid.UUID, rows pgx.Rows) error {
	var last int64
	_, err := pgx.ForEachRow(rows, []any{&last}, func() error {
		if t.committed == nil {
			t.committed = map[uuid.UUID]int64{}
		}
		t.committed[id] = max(t.committed[id], last)
		return nil
	})
	return err
}

// CommittedPosition is the position of the stream's last event appended with the
// commit, once the commit was answered (see application's positionAfterCommit).
func (t *streamTx[S, E]) CommittedPosition(id uuid.UUID) (int64, bool) {
	p, ok := t.committed[id]
	return p, ok
}

// guessed reports whether fn's outcome rests on a state that was not read and that no
// guarded append will check: then it must be decided again on the stored stream.
func (t *streamTx[S, E]) guessed() bool {
	for _, appended := range t.unverified {
		if !appended {
			return true
		}
	}
	return false
}

// StateAfterAppend is the state after this transaction's appends to the stream, as
// folded for the cache, so the command runner need not fold again.
func (t *streamTx[S, E]) StateAfterAppend(id uuid.UUID) (application.Versioned[S], bool) {
	v, ok := t.written[id]
	return v, ok
}

func (t *streamTx[S, E]) Lock(ctx context.Context, id uuid.UUID) error {
	t.verify = true
	s := t.store.Stream(id)
	_, err := t.Exec(ctx, `SELECT 1 FROM aggregate_heads WHERE stream_type = $1 AND stream_id = $2 FOR UPDATE`, s.Type, s.ID)
	return postgres.Classify(err)
}

func (t *streamTx[S, E]) Load(ctx context.Context, id uuid.UUID) (application.Versioned[S], error) {
	view, ok, hot := t.store.cache.get(id)
	if !ok {
		view = application.Versioned[S]{State: t.store.cfg.Initial}
	}
	if t.loaded == nil {
		t.loaded = map[uuid.UUID]application.Versioned[S]{}
	}
	if !t.verify && !hot && !t.claimed {
		// No read: a cached state is usually current (unless it was found stale a moment
		// ago: a contended stream), and a stream with no cached state is usually new (a
		// server-chosen id). A guarded append checks it.
		if t.unverified == nil {
			t.unverified = map[uuid.UUID]bool{}
		}
		t.unverified[id] = false
		t.loaded[id] = view
		if t.loaded0 == nil {
			t.loaded0 = map[uuid.UUID]int64{}
		}
		t.loaded0[id] = view.Version
		return view, nil
	}
	if !ok && t.store.cfg.Snapshots != nil {
		snap, found, err := t.store.readSnapshot(ctx, t.Tx, id)
		if err != nil {
			return application.Versioned[S]{}, err
		}
		if found {
			view = snap
		}
	}
	recorded, err := t.store.read(ctx, t.Tx, id, eventstore.StreamRange{From: view.Version + 1})
	if err != nil {
		return application.Versioned[S]{}, err
	}
	if n := len(recorded); n > 0 {
		if recorded[0].Version != view.Version+1 {
			return application.Versioned[S]{}, fmt.Errorf("load %s %s: expected version %d next, read %d", t.store.cfg.StreamType, id, view.Version+1, recorded[0].Version)
		}
		events := make([]E, n)
		for i, r := range recorded {
			events[i] = r.Event
		}
		view = application.Versioned[S]{State: t.store.cfg.Fold(view.State, events...), Version: recorded[n-1].Version, Position: recorded[n-1].Position}
		if sn := t.store.cfg.Snapshots; sn != nil && int64(n) >= sn.Every {
			t.store.snapshot(ctx, id, view) // a committed state: safe to keep whatever this transaction does
		}
	}
	if t.loaded0 == nil {
		t.loaded0 = map[uuid.UUID]int64{}
	}
	t.loaded0[id] = view.Version
	t.loaded[id] = view
	return view, nil
}

func (t *streamTx[S, E]) Append(ctx context.Context, id uuid.UUID, expectedVersion int64, events []E, md application.Metadata, at time.Time) ([]application.RecordedEvent[E], error) {
	cfg := t.store.cfg
	meta, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("append to %s %s: metadata: %w", cfg.StreamType, id, err)
	}
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		name, version, payload, err := cfg.Codec.Encode(e)
		if err != nil {
			return nil, fmt.Errorf("append to %s %s: %w", cfg.StreamType, id, err)
		}
		data[i] = eventstore.EventData{
			Type: name, SchemaVersion: version, Payload: payload, Metadata: meta,
			CorrelationID: md.CorrelationID, CausationID: md.CausationID, RecordedAt: at,
		}
	}
	var stored []eventstore.RecordedEvent
	if _, guarded := t.unverified[id]; guarded {
		sql, args, recorded, gerr := eventstore.GuardedAppend(t.store.Stream(id), eventstore.Exact(expectedVersion), data)
		if gerr != nil {
			return nil, gerr
		}
		t.deferRows(func(rows pgx.Rows) error { return t.committedAt(id, rows) }, sql, args...)
		t.unverified[id] = true
		t.guardedEvents += len(events) // observed with the commit that runs them
		stored, err = recorded, nil
		for i := range stored {
			stored[i].RecordedAt = at
		}
	} else {
		start := time.Now()
		stored, err = eventstore.Append(ctx, t.Tx, t.store.Stream(id), eventstore.Exact(expectedVersion), data)
		if o := t.store.appends; o != nil {
			o.Appended(cfg.StreamType, len(events), time.Since(start), err)
		}
	}
	var conflict *eventstore.ConcurrencyError
	if errors.As(err, &conflict) {
		return nil, &application.VersionConflictError{Resource: cfg.StreamType, ID: id, Expected: expectedVersion, Actual: conflict.Actual}
	}
	if err != nil {
		return nil, postgres.Classify(err)
	}
	recorded := make([]application.RecordedEvent[E], len(stored))
	for i, s := range stored {
		recorded[i] = recordedOf(s, events[i])
	}
	if before, ok := t.loaded[id]; ok && before.Version == expectedVersion {
		if t.written == nil {
			t.written = map[uuid.UUID]application.Versioned[S]{}
		}
		t.written[id] = application.Versioned[S]{State: cfg.Fold(before.State, events...), Version: stored[len(stored)-1].Version, Position: stored[len(stored)-1].Position}
		t.loaded[id] = t.written[id]
	}
	if cfg.Project != nil {
		if err := cfg.Project(t.Tx, id, recorded); err != nil {
			return nil, err
		}
	}
	return recorded, nil
}

func recordedOf[E any](s eventstore.RecordedEvent, e E) application.RecordedEvent[E] {
	return application.RecordedEvent[E]{
		EventID: s.EventID, Type: s.Type, SchemaVersion: s.SchemaVersion, Version: s.Version,
		Position: s.Position, RecordedAt: s.RecordedAt, Event: e, Data: s.Payload, Metadata: s.Metadata,
	}
}
