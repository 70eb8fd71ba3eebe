package aggregatestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/personaldata"
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
type Projection[E any] func(q Queue, id uuid.UUID, events []appkit.RecordedEvent[E]) error

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
	// personal seals the personal data (kit.Personal) of events before they are stored,
	// in the appending transaction; nil refuses an event with personal data.
	personal *personaldata.Keys
}

// UsePersonalData has the store seal the personal data of the events it appends, and
// open it in what it answers, with keys; it returns the store.
func (s *Store[S, E]) UsePersonalData(keys *personaldata.Keys) *Store[S, E] {
	s.personal = keys
	return s
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

// Attempt runs fn in a READ COMMITTED transaction on the stream id. That level is
// enough: the append's version check on the head row is what serialises writers to one
// stream.
//
// In Optimistic mode the common case is one round trip. Load answers from the state
// cache, or takes a stream it has no state for to be new, without reading; an Append on
// such a state is queued, guarded, with the read-model writes, the kept outcome and
// COMMIT, all sent in one batch. If the stream was not where that state said, the
// guarded append aborts the transaction inside the batch; and if fn decided anything
// but an append on it (a rejection, a failed If-Match, nothing to append), nothing of
// it is trusted. Either way Attempt returns appkit.ErrUnverified and the command
// handler runs fn again in Read mode.
func (s *Store[S, E]) Attempt(ctx context.Context, id uuid.UUID, mode appkit.Mode, fn func(context.Context, appkit.StreamTx[S, E]) error) (appkit.Versioned[S], error) {
	var none appkit.Versioned[S]
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return none, postgres.Classify(err)
	}
	defer conn.Release()
	t := &streamTx[S, E]{Tx: &Tx{conn: conn.Conn()}, store: s, id: id, mode: mode}
	if mode == appkit.Lock {
		err = t.lock(ctx)
	}
	if err == nil {
		err = fn(ctx, t)
	}
	if err == nil && t.unverified && !t.guarded {
		err = appkit.ErrUnverified // decided on a guess that nothing will check
	}
	if err != nil {
		t.rollback(ctx)
		if t.forgetGoneKeys(err) || (t.unverified && !t.guarded || t.keyTaken) && ctx.Err() == nil {
			return none, appkit.ErrUnverified
		}
		return none, postgres.Classify(err)
	}
	start := time.Now()
	err = t.commit(ctx)
	if o := s.appends; o != nil && t.guarded {
		o.Appended(s.cfg.StreamType, t.guardedEvents, time.Since(start), err)
	}
	if err != nil {
		t.rollback(ctx)
		if t.guarded && eventstore.IsVersionMismatch(err) {
			s.cache.missed(id)
			return none, appkit.ErrUnverified
		}
		if t.guessed != nil && isKeyTaken(err) {
			return none, appkit.ErrUnverified // claim it by asking
		}
		if t.forgetGoneKeys(err) {
			return none, appkit.ErrUnverified
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			// The COMMIT left but no answer came back: it may have committed.
			return none, fmt.Errorf("%w: %w", appkit.ErrOutcomeUnknown, postgres.Classify(err))
		}
		return none, postgres.Classify(err)
	}
	if t.committedAt > 0 {
		t.view.Position = t.committedAt
	}
	if t.appended {
		s.cache.put(id, t.view)
		if sn := s.cfg.Snapshots; sn != nil && t.view.Version/sn.Every > t.loadedVersion/sn.Every {
			s.snapshot(ctx, id, t.view)
		}
	}
	answer := t.view
	if t.opened != nil {
		answer.State = *t.opened
	}
	// On this attempt's own connection, now idle: asking the pool for a second one while
	// holding this could leave every connection waiting for another (a full pool).
	if err := s.personal.Open(ctx, conn, &answer.State); err != nil {
		return none, fmt.Errorf("%w: %w", appkit.ErrOutcomeUnknown, err) // committed, but cannot be shown
	}
	return answer, nil
}

// History returns a stream's events in version order, decoded, within r, with their
// personal data opened (or erased), in the typed events and in the payloads.
func (s *Store[S, E]) History(ctx context.Context, id uuid.UUID, r eventstore.StreamRange) ([]appkit.RecordedEvent[E], error) {
	recorded, err := s.read(ctx, s.pool, id, r)
	if err != nil {
		return nil, err
	}
	events := make([]any, len(recorded))
	payloads := make([][]byte, len(recorded))
	for i := range recorded {
		events[i], payloads[i] = &recorded[i].Event, recorded[i].Data
	}
	if payloads, err = s.personal.OpenEvents(ctx, s.pool, events, payloads); err != nil {
		return nil, err
	}
	for i := range recorded {
		recorded[i].Data = payloads[i]
	}
	return recorded, nil
}

func (s *Store[S, E]) read(ctx context.Context, db eventstore.DBTX, id uuid.UUID, r eventstore.StreamRange) ([]appkit.RecordedEvent[E], error) {
	stored, err := eventstore.ReadStream(ctx, db, s.Stream(id), r)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	recorded := make([]appkit.RecordedEvent[E], len(stored))
	for i, e := range stored {
		event, err := s.cfg.Codec.Decode(e.Type, e.SchemaVersion, e.Payload)
		if err != nil {
			return nil, fmt.Errorf("%s %s: event %d: %w", s.cfg.StreamType, id, e.Version, err)
		}
		recorded[i] = recordedOf(e, event)
	}
	return recorded, nil
}

// streamTx is one attempt's implementation of appkit.StreamTx.
type streamTx[S, E any] struct {
	*Tx
	store *Store[S, E]
	id    uuid.UUID
	mode  appkit.Mode
	// view is the stream as last loaded or written; loadedVersion is the version Load found.
	view          appkit.Versioned[S]
	loadedVersion int64
	// unverified: Load answered without reading; guarded: an append on that state is
	// queued to run, checked, with the commit.
	unverified, guarded, appended bool
	guardedEvents                 int
	// committedAt is the position of the last event of a guarded append, known once
	// the commit is answered.
	committedAt int64
	// opened is the state folded from the events as decided, when they held personal
	// data: the answer shows it, while view (cached, snapshotted) holds it sealed.
	opened *S
	// keptKeys are the subjects sealed with a data key kept from an earlier transaction,
	// checked by the insert of the events (personaldata.IsKeyGone).
	keptKeys []string
}

func (t *streamTx[S, E]) lock(ctx context.Context) error {
	s := t.store.Stream(t.id)
	_, err := t.Exec(ctx, `SELECT 1 FROM aggregate_heads WHERE stream_type = $1 AND stream_id = $2 FOR UPDATE`, s.Type, s.ID)
	return postgres.Classify(err)
}

func (t *streamTx[S, E]) Load(ctx context.Context) (appkit.Versioned[S], error) {
	view, ok, hot := t.store.cache.get(t.id)
	if !ok {
		view = appkit.Versioned[S]{State: t.store.cfg.Initial}
	}
	if t.mode == appkit.Optimistic && !hot {
		// No read: a cached state is usually current (unless it was found stale a moment
		// ago: a contended stream), and a stream with no cached state is usually new (a
		// server-chosen id). A guarded append checks it.
		t.unverified = true
		t.view, t.loadedVersion = view, view.Version
		return view, nil
	}
	if !ok && t.store.cfg.Snapshots != nil {
		snap, found, err := t.store.readSnapshot(ctx, t.Tx, t.id)
		if err != nil {
			return appkit.Versioned[S]{}, err
		}
		if found {
			view = snap
		}
	}
	view, n, err := t.foldFrom(ctx, t.id, view, eventstore.StreamRange{From: view.Version + 1})
	if err != nil {
		return appkit.Versioned[S]{}, err
	}
	if sn := t.store.cfg.Snapshots; sn != nil && int64(n) >= sn.Every {
		t.store.snapshot(ctx, t.id, view) // a committed state: safe to keep whatever this transaction does
	}
	t.view, t.loadedVersion = view, view.Version
	return view, nil
}

// ClaimIdempotencyKey claims key. In Optimistic mode it takes the key to be new without
// asking: KeepOutcome inserts it with the outcome first in the commit's batch, so a
// keyed command is one round trip too; if anything is sent before the commit after all
// (Load reads, a first data key), Tx claims the key by asking first (claimGuessed).
// Either way the key is taken before any row the transaction then locks, as in every
// transaction (two taking them in opposite orders could deadlock). A key that exists
// (a repeat, a concurrent claimer's, which the insert waits for, an expired record)
// fails the attempt with nothing written, and it runs again in Read mode, which claims
// the key by asking and replays what it kept.
func (t *streamTx[S, E]) ClaimIdempotencyKey(ctx context.Context, key appkit.IdempotencyKey, fingerprint string, keepFor time.Duration) (appkit.IdempotencyRecord, error) {
	if t.mode != appkit.Optimistic {
		return t.Tx.ClaimIdempotencyKey(ctx, key, fingerprint, keepFor)
	}
	t.guessed = &guessedKey{key: key, fingerprint: fingerprint, keepFor: keepFor}
	return appkit.IdempotencyRecord{Claimed: true}, nil
}

func (t *streamTx[S, E]) LoadVersion(ctx context.Context, id uuid.UUID, version int64) (appkit.Versioned[S], error) {
	view := appkit.Versioned[S]{State: t.store.cfg.Initial}
	if version > 0 {
		var err error
		if view, _, err = t.foldFrom(ctx, id, view, eventstore.StreamRange{From: 1, To: version}); err != nil {
			return appkit.Versioned[S]{}, err
		}
	}
	t.view = view
	return view, nil
}

// foldFrom reads the events of stream id in r, which must follow view's version, and
// folds them into view; n is how many it read.
func (t *streamTx[S, E]) foldFrom(ctx context.Context, id uuid.UUID, view appkit.Versioned[S], r eventstore.StreamRange) (_ appkit.Versioned[S], n int, _ error) {
	recorded, err := t.store.read(ctx, t.Tx, id, r)
	if err != nil || len(recorded) == 0 {
		return view, 0, err
	}
	if recorded[0].Version != view.Version+1 {
		return view, 0, fmt.Errorf("load %s %s: expected version %d next, read %d", t.store.cfg.StreamType, id, view.Version+1, recorded[0].Version)
	}
	events := make([]E, len(recorded))
	for i, r := range recorded {
		events[i] = r.Event
	}
	last := recorded[len(recorded)-1]
	return appkit.Versioned[S]{State: t.store.cfg.Fold(view.State, events...), Version: last.Version, Position: last.Position}, len(recorded), nil
}

func (t *streamTx[S, E]) Append(ctx context.Context, expectedVersion int64, events []E, md appkit.Metadata, at time.Time) error {
	cfg, id := t.store.cfg, t.id
	meta, err := json.Marshal(md)
	if err != nil {
		return fmt.Errorf("append to %s %s: metadata: %w", cfg.StreamType, id, err)
	}
	decided := events
	events, sealed, err := t.seal(ctx, events)
	if err != nil {
		return fmt.Errorf("append to %s %s: %w", cfg.StreamType, id, err)
	}
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		name, version, payload, err := cfg.Codec.Encode(e)
		if err != nil {
			return fmt.Errorf("append to %s %s: %w", cfg.StreamType, id, err)
		}
		if personaldata.HasClear(payload) {
			return fmt.Errorf("append to %s %s: %s holds personal data that was not sealed (kit.Personal must sit in struct fields)", cfg.StreamType, id, name)
		}
		data[i] = eventstore.EventData{
			Type: name, SchemaVersion: version, Payload: payload, Metadata: meta,
			CorrelationID: md.CorrelationID, CausationID: md.CausationID, RecordedAt: at,
		}
	}
	var stored []eventstore.RecordedEvent
	if t.unverified && !t.guarded {
		sql, args, recorded, gerr := eventstore.GuardedAppend(t.store.Stream(id), eventstore.Exact(expectedVersion), data)
		if gerr != nil {
			return gerr
		}
		t.deferRows(t.readCommittedAt, sql, args...)
		t.guarded = true
		t.guardedEvents += len(events) // observed with the commit that runs them
		stored = recorded
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
		return &appkit.VersionConflictError{Resource: cfg.StreamType, ID: id, Expected: expectedVersion, Actual: conflict.Actual}
	}
	if err != nil {
		return postgres.Classify(err)
	}
	if t.view.Version == expectedVersion {
		last := stored[len(stored)-1]
		if sealed {
			answer := cfg.Fold(t.view.State, decided...)
			t.opened = &answer
		}
		t.view = appkit.Versioned[S]{State: cfg.Fold(t.view.State, events...), Version: last.Version, Position: last.Position}
		t.appended = true
	}
	if cfg.Project != nil {
		recorded := make([]appkit.RecordedEvent[E], len(stored))
		for i, s := range stored {
			recorded[i] = recordedOf(s, events[i])
		}
		return cfg.Project(t.Tx, id, recorded)
	}
	return nil
}

// seal returns the events as they are stored: when they hold personal data, copies
// with it sealed, so that the state folded from them, which the cache and the snapshots
// keep, holds none in clear.
func (t *streamTx[S, E]) seal(ctx context.Context, events []E) ([]E, bool, error) {
	stored := slices.Clone(events)
	ptrs := make([]any, len(stored))
	for i := range stored {
		ptrs[i] = &stored[i]
	}
	sealed, kept, err := t.store.personal.Seal(ctx, t.Tx, ptrs...)
	if err != nil || !sealed {
		return events, false, err
	}
	t.keptKeys = append(t.keptKeys, kept...)
	return stored, true, nil
}

// forgetGoneKeys reports whether err is the refusal of a data key kept for sealing that
// was erased since this process last sealed with it (by the insert of the events, run at
// once or with the commit): nothing was written; the store forgets the keys, and the
// next attempt asks for the subject's key.
func (t *streamTx[S, E]) forgetGoneKeys(err error) bool {
	if !personaldata.IsKeyGone(err) {
		return false
	}
	t.store.personal.Forget(t.keptKeys...)
	return true
}

// readCommittedAt reads the positions a guarded append returns with the commit.
func (t *streamTx[S, E]) readCommittedAt(rows pgx.Rows) error {
	var last int64
	_, err := pgx.ForEachRow(rows, []any{&last}, func() error {
		t.committedAt = max(t.committedAt, last)
		return nil
	})
	return err
}

func recordedOf[E any](s eventstore.RecordedEvent, e E) appkit.RecordedEvent[E] {
	return appkit.RecordedEvent[E]{
		EventID: s.EventID, Type: s.Type, SchemaVersion: s.SchemaVersion, Version: s.Version,
		Position: s.Position, RecordedAt: s.RecordedAt, Event: e, Data: s.Payload, Metadata: s.Metadata,
	}
}
