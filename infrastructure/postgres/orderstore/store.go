package orderstore

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
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// Store implements application.OrderTransactor on a connection pool.
type Store struct {
	pool  *pgxpool.Pool
	codec *eventcodec.Registry[order.Event]
	cache *stateCache
}

// DefaultCachedOrders is how many orders' folded states a Store keeps by default.
const DefaultCachedOrders = 10_000

// NewStore returns a Store writing through pool, encoding events with codec, and
// keeping the folded state of up to DefaultCachedOrders recently written orders.
func NewStore(pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event]) *Store {
	return NewStoreWithCache(pool, codec, DefaultCachedOrders)
}

// NewStoreWithCache is NewStore with the number of cached order states; 0 disables the
// cache, so that every command folds the whole stream.
func NewStoreWithCache(pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event], cachedOrders int) *Store {
	s := &Store{pool: pool, codec: codec}
	if cachedOrders > 0 {
		s.cache = newStateCache(cachedOrders)
	}
	return s
}

// WithinOrderTx runs fn in a READ COMMITTED transaction. That level is enough: the
// append's version check on the head row is what serialises writers to one order.
func (s *Store) WithinOrderTx(ctx context.Context, fn func(context.Context, application.OrderTx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(err)
	}
	defer conn.Release()
	t := &orderTx{tx: &pipelineTx{conn: conn.Conn()}, codec: s.codec, cache: s.cache}
	if err := fn(ctx, t); err != nil {
		t.tx.rollback(ctx)
		return classify(err)
	}
	if err := t.tx.commit(ctx); err != nil {
		t.tx.rollback(ctx)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			// The COMMIT left but no answer came back: it may have committed.
			return fmt.Errorf("%w: %w", application.ErrOutcomeUnknown, classify(err))
		}
		return classify(err)
	}
	for id, view := range t.written {
		s.cache.put(id, view)
	}
	return nil
}

// orderTx is one transaction's implementation of application.OrderTx.
type orderTx struct {
	tx      *pipelineTx
	codec   *eventcodec.Registry[order.Event]
	cache   *stateCache
	loaded  map[uuid.UUID]application.OrderView // as read by LoadOrder
	written map[uuid.UUID]application.OrderView // after this transaction's appends
}

func (t *orderTx) LockOrder(ctx context.Context, id uuid.UUID) error {
	s := streamOf(id)
	_, err := t.tx.Exec(ctx, `SELECT 1 FROM aggregate_heads WHERE stream_type = $1 AND stream_id = $2 FOR UPDATE`, s.Type, s.ID)
	return classify(err)
}

func (t *orderTx) LoadOrder(ctx context.Context, id uuid.UUID) (application.OrderView, error) {
	view, _ := t.cache.get(id)
	stored, err := eventstore.ReadStream(ctx, t.tx, streamOf(id), eventstore.StreamRange{From: view.Version + 1})
	if err != nil {
		return application.OrderView{}, classify(err)
	}
	events := make([]order.Event, len(stored))
	for i, e := range stored {
		if events[i], err = t.codec.Decode(e.Type, e.SchemaVersion, e.Payload); err != nil {
			return application.OrderView{}, fmt.Errorf("load order %s: event %d: %w", id, e.Version, err)
		}
	}
	if n := len(stored); n > 0 {
		if stored[0].Version != view.Version+1 {
			return application.OrderView{}, fmt.Errorf("load order %s: expected version %d next, read %d", id, view.Version+1, stored[0].Version)
		}
		view = application.OrderView{State: order.Fold(view.State, events...), Version: stored[n-1].Version}
	}
	if t.loaded == nil {
		t.loaded = map[uuid.UUID]application.OrderView{}
	}
	t.loaded[id] = view
	return view, nil
}

func (t *orderTx) AppendOrderEvents(ctx context.Context, id uuid.UUID, expectedVersion int64, events []order.Event, md application.Metadata, at time.Time) ([]application.RecordedEvent, error) {
	meta, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("append to order %s: metadata: %w", id, err)
	}
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		name, version, payload, err := t.codec.Encode(e)
		if err != nil {
			return nil, fmt.Errorf("append to order %s: %w", id, err)
		}
		data[i] = eventstore.EventData{
			Type: name, SchemaVersion: version, Payload: payload, Metadata: meta,
			CorrelationID: md.CorrelationID, CausationID: md.CausationID, RecordedAt: at,
		}
	}
	stored, err := eventstore.Append(ctx, t.tx, streamOf(id), eventstore.Exact(expectedVersion), data)
	var conflict *eventstore.ConcurrencyError
	if errors.As(err, &conflict) {
		return nil, &application.VersionConflictError{OrderID: id, Expected: expectedVersion, Actual: conflict.Actual}
	}
	if err != nil {
		return nil, classify(err)
	}
	recorded := make([]application.RecordedEvent, len(stored))
	for i, s := range stored {
		recorded[i] = toApplication(s, events[i])
	}
	if before, ok := t.loaded[id]; ok && before.Version == expectedVersion {
		if t.written == nil {
			t.written = map[uuid.UUID]application.OrderView{}
		}
		t.written[id] = application.OrderView{State: order.Fold(before.State, events...), Version: stored[len(stored)-1].Version}
		t.loaded[id] = t.written[id]
	}
	return recorded, nil
}

// ProjectOrder queues the read-model statements; they go to the database with COMMIT,
// in the same transaction, so a failure there still rolls everything back.
func (t *orderTx) ProjectOrder(_ context.Context, id uuid.UUID, events []application.RecordedEvent) error {
	return project(t.tx, id, events)
}

func toApplication(s eventstore.RecordedEvent, e order.Event) application.RecordedEvent {
	return application.RecordedEvent{
		EventID: s.EventID, Type: s.Type, SchemaVersion: s.SchemaVersion, Version: s.Version,
		Position: s.Position, RecordedAt: s.RecordedAt, Event: e, Data: s.Payload, Metadata: s.Metadata,
	}
}
