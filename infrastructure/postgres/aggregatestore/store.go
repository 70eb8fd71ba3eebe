package aggregatestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
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
// idempotent by version (applying an event twice changes nothing).
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
	// that every command folds the whole stream.
	CachedStates int
}

// DefaultCachedStates is a sensible CachedStates for a service.
const DefaultCachedStates = 10_000

// Store implements application.Transactor for one aggregate type on a connection pool.
type Store[S, E any] struct {
	pool  *pgxpool.Pool
	cfg   Config[S, E]
	cache *stateCache[S]
	// appends, when set, is told of every append statement (metrics); see observe.go.
	appends AppendObserver
}

// New returns a Store writing through pool.
func New[S, E any](pool *pgxpool.Pool, cfg Config[S, E]) *Store[S, E] {
	s := &Store[S, E]{pool: pool, cfg: cfg}
	if cfg.CachedStates > 0 {
		s.cache = newStateCache[S](cfg.CachedStates)
	}
	return s
}

// Stream names the stream of the aggregate with this id.
func (s *Store[S, E]) Stream(id uuid.UUID) eventstore.StreamID {
	return eventstore.StreamID{Type: s.cfg.StreamType, ID: id.String()}
}

// WithinTx runs fn in a READ COMMITTED transaction. That level is enough: the append's
// version check on the head row is what serialises writers to one stream.
func (s *Store[S, E]) WithinTx(ctx context.Context, fn func(context.Context, application.StreamTx[S, E]) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return postgres.Classify(err)
	}
	defer conn.Release()
	t := &streamTx[S, E]{Tx: &Tx{conn: conn.Conn()}, store: s}
	if err := fn(ctx, t); err != nil {
		t.rollback(ctx)
		return postgres.Classify(err)
	}
	if err := t.commit(ctx); err != nil {
		t.rollback(ctx)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			// The COMMIT left but no answer came back: it may have committed.
			return fmt.Errorf("%w: %w", application.ErrOutcomeUnknown, postgres.Classify(err))
		}
		return postgres.Classify(err)
	}
	for id, view := range t.written {
		s.cache.put(id, view)
	}
	return nil
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
	loaded  map[uuid.UUID]application.Versioned[S] // as read by Load
	written map[uuid.UUID]application.Versioned[S] // after this transaction's appends
}

func (t *streamTx[S, E]) Lock(ctx context.Context, id uuid.UUID) error {
	s := t.store.Stream(id)
	_, err := t.Exec(ctx, `SELECT 1 FROM aggregate_heads WHERE stream_type = $1 AND stream_id = $2 FOR UPDATE`, s.Type, s.ID)
	return postgres.Classify(err)
}

func (t *streamTx[S, E]) Load(ctx context.Context, id uuid.UUID) (application.Versioned[S], error) {
	view, ok := t.store.cache.get(id)
	if !ok {
		view = application.Versioned[S]{State: t.store.cfg.Initial}
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
	}
	if t.loaded == nil {
		t.loaded = map[uuid.UUID]application.Versioned[S]{}
	}
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
	start := time.Now()
	stored, err := eventstore.Append(ctx, t.Tx, t.store.Stream(id), eventstore.Exact(expectedVersion), data)
	if o := t.store.appends; o != nil {
		o.Appended(cfg.StreamType, len(events), time.Since(start), err)
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
