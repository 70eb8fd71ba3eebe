package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/orderstore"
)

// The baselines: what the service's writes cost when issued straight through pgx, one
// statement per round trip, with no HTTP and no decider. pgx prepares each statement on
// first use on a connection and reuses it afterwards (QueryExecModeCacheStatement, its
// default and the service's), so these are prepared statements.
const (
	sqlHead = `SELECT version FROM aggregate_heads WHERE stream_type = $1 AND stream_id = $2`

	sqlInsertEvent = `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version,
		payload, metadata, correlation_id, causation_id, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

	sqlInsertHead = `INSERT INTO aggregate_heads (stream_type, stream_id, version) VALUES ($1, $2, $3)`

	sqlInsertOverview = `INSERT INTO order_overview (id, customer_id, status, currency, total_cents, unit_count, version, placed_at, updated_at)
		VALUES ($1, $2, 'pending', $3, 0, 0, 1, $4, $4)`

	sqlReadStream = `SELECT stream_version, event_type, schema_version, payload FROM events
		WHERE stream_type = $1 AND stream_id = $2 ORDER BY stream_version`

	sqlMoveHead = `UPDATE aggregate_heads SET version = $3 WHERE stream_type = $1 AND stream_id = $2 AND version = $4`

	sqlUpdateOverview = `UPDATE order_overview SET total_cents = total_cents + $2, unit_count = unit_count + $3,
		version = $4, updated_at = $5 WHERE id = $1`

	sqlInsertLine = `INSERT INTO order_overview_lines (order_id, line_no, sku, quantity, unit_price_cents)
		VALUES ($1, $2, $3, $4, $5)`
)

// floorStream is the stream type of the floor's rows, so they never look like orders.
const floorStream = "bench-floor"

// rawWriter encodes events exactly as the service stores them (same codec, same
// metadata shape), so rows and payload sizes are realistic.
type rawWriter struct {
	pool  *pgxpool.Pool
	codec *eventcodec.Registry[order.Event]
}

func newRawWriter(pool *pgxpool.Pool) *rawWriter {
	return &rawWriter{pool: pool, codec: eventcodec.NewOrderRegistry()}
}

// event is one encoded event with its metadata.
type event struct {
	name          string
	schemaVersion int
	payload       []byte
	metadata      []byte
	correlation   string
	at            time.Time
}

func (w *rawWriter) encode(e order.Event, command string, at time.Time) (event, error) {
	name, version, payload, err := w.codec.Encode(e)
	if err != nil {
		return event{}, err
	}
	id := uuid.NewString()
	md, err := json.Marshal(appkit.Metadata{CorrelationID: id, CausationID: id, IssuedBy: "bench raw SQL", Command: command})
	if err != nil {
		return event{}, err
	}
	return event{name: name, schemaVersion: version, payload: payload, metadata: md, correlation: id, at: at}, nil
}

func (w *rawWriter) insertEvent(ctx context.Context, tx pgx.Tx, streamType, streamID string, version int64, e event) error {
	_, err := tx.Exec(ctx, sqlInsertEvent, streamType, streamID, version, uuid.Must(uuid.NewV7()),
		e.name, e.schemaVersion, e.payload, e.metadata, e.correlation, e.correlation, e.at)
	return err
}

// floor is the least a durable event append can cost: BEGIN; one INSERT into events;
// COMMIT.
func (w *rawWriter) floor(ctx context.Context) error {
	at := time.Now().UTC().Truncate(time.Microsecond)
	id := uuid.Must(uuid.NewV7())
	e, err := w.encode(order.OrderPlaced{OrderID: id, CustomerID: "bench-floor", Currency: "EUR", PlacedAt: at}, "PlaceOrder", at)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		return w.insertEvent(ctx, tx, floorStream, id.String(), 1, e)
	})
}

// placeNaive is placing an order the naive way: BEGIN; head check; event insert; head
// insert; read-model insert; COMMIT; one round trip each.
func (w *rawWriter) placeNaive(ctx context.Context, customer string) error {
	at := time.Now().UTC().Truncate(time.Microsecond)
	id := uuid.Must(uuid.NewV7())
	stream := id.String()
	e, err := w.encode(order.OrderPlaced{OrderID: id, CustomerID: customer, Currency: "EUR", PlacedAt: at}, "PlaceOrder", at)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		var v int64
		switch err := tx.QueryRow(ctx, sqlHead, orderstore.StreamType, stream).Scan(&v); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			return fmt.Errorf("new order %s already has version %d", stream, v)
		}
		if err := w.insertEvent(ctx, tx, orderstore.StreamType, stream, 1, e); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlInsertHead, orderstore.StreamType, stream, 1); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlInsertOverview, id, customer, "EUR", at)
		return err
	})
}

// addLineNaive is adding a line the naive way: BEGIN; read the whole stream; move the
// head with a version check; insert the event; update the order's read-model row;
// insert the line's row; COMMIT; one round trip each.
func (w *rawWriter) addLineNaive(ctx context.Context, id uuid.UUID, sku string, qty int, price int64) error {
	at := time.Now().UTC().Truncate(time.Microsecond)
	stream := id.String()
	e, err := w.encode(order.OrderLineAdded{SKU: sku, Quantity: qty, UnitPriceCents: price, AddedAt: at}, "AddOrderLine", at)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlReadStream, orderstore.StreamType, stream)
		if err != nil {
			return err
		}
		var version int64
		var typ string
		var schema int
		var payload []byte
		_, err = pgx.ForEachRow(rows, []any{&version, &typ, &schema, &payload}, func() error { return nil })
		if err != nil {
			return err
		}
		if version == 0 {
			return fmt.Errorf("order %s has no events", stream)
		}
		next := version + 1
		tag, err := tx.Exec(ctx, sqlMoveHead, orderstore.StreamType, stream, next, version)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("order %s: head is not at version %d", stream, version)
		}
		if err := w.insertEvent(ctx, tx, orderstore.StreamType, stream, next, e); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlUpdateOverview, id, int64(qty)*price, qty, next, at); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, sqlInsertLine, id, next, sku, qty, price)
		return err
	})
}

// sqlOutcome labels a raw operation's result.
func sqlOutcome(err error) outcome {
	if err != nil {
		return outcome{label: "sql error", err: err}
	}
	return outcome{label: "ok"}
}
