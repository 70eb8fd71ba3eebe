package orderstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
}

// NewStore returns a Store writing through pool, encoding events with codec.
func NewStore(pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event]) *Store {
	return &Store{pool: pool, codec: codec}
}

// WithinOrderTx runs fn in a READ COMMITTED transaction. That level is enough: the
// append's version check on the head row is what serialises writers to one order.
func (s *Store) WithinOrderTx(ctx context.Context, fn func(context.Context, application.OrderTx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(ctx, &orderTx{tx: tx, codec: s.codec})
	})
	return classify(err)
}

// orderTx is one transaction's implementation of application.OrderTx.
type orderTx struct {
	tx    pgx.Tx
	codec *eventcodec.Registry[order.Event]
}

func (t *orderTx) LoadOrder(ctx context.Context, id uuid.UUID) (application.OrderView, error) {
	stored, err := eventstore.ReadStream(ctx, t.tx, streamOf(id), eventstore.StreamRange{})
	if err != nil {
		return application.OrderView{}, classify(err)
	}
	events := make([]order.Event, len(stored))
	for i, e := range stored {
		if events[i], err = t.codec.Decode(e.Type, e.SchemaVersion, e.Payload); err != nil {
			return application.OrderView{}, fmt.Errorf("load order %s: event %d: %w", id, e.Version, err)
		}
	}
	view := application.OrderView{State: order.Fold(order.Initial(), events...)}
	if n := len(stored); n > 0 {
		view.Version = stored[n-1].Version
	}
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
	return recorded, nil
}

func (t *orderTx) ProjectOrder(ctx context.Context, id uuid.UUID, events []application.RecordedEvent) error {
	return classify(project(ctx, t.tx, id, events))
}

func toApplication(s eventstore.RecordedEvent, e order.Event) application.RecordedEvent {
	return application.RecordedEvent{
		EventID: s.EventID, Type: s.Type, SchemaVersion: s.SchemaVersion, Version: s.Version,
		Position: s.Position, RecordedAt: s.RecordedAt, Event: e, Data: s.Payload, Metadata: s.Metadata,
	}
}
