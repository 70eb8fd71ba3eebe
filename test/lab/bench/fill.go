package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/domain/order"
	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
)

// Filling long streams over HTTP would be slow: every add-line response carries all of
// the order's lines, so filling one order to 1,000 events moves some 30 MB of JSON. The
// lines go in straight through the application's own event store
// (eventstore.Append, events encoded by its codec) together with the read-model rows
// the service's projection would write; the scenario then checks through the service
// that the read model and the folded stream agree.
const (
	fillOverview = `UPDATE order_overview SET total_cents = total_cents + $2, unit_count = unit_count + $3,
		version = $4, updated_at = $5 WHERE id = $1 AND version = $6`
	fillLines = `INSERT INTO order_overview_lines (order_id, line_no, sku, quantity, unit_price_cents)
		SELECT $1, v, sku, 1, $4 FROM unnest($2::bigint[], $3::text[]) AS t(v, sku)`
	fillPrice = 1250
	fillChunk = 1000
)

// fillLines appends n OrderLineAdded events (quantity 1) to an order at version from,
// with their read-model rows, in one transaction per chunk of events.
func (w *rawWriter) fillLines(ctx context.Context, id uuid.UUID, from int64, n int) error {
	stream := es.StreamID{Type: orderstore.StreamType, ID: id.String()}
	version := from
	for n > 0 {
		k := min(n, fillChunk)
		at := time.Now().UTC().Truncate(time.Microsecond)
		events := make([]es.EventData, k)
		versions, skus := make([]int64, k), make([]string, k)
		for i := range k {
			versions[i] = version + int64(i) + 1
			skus[i] = fmt.Sprintf("fill-%05d", versions[i])
			e, err := w.encode(order.OrderLineAdded{SKU: skus[i], Quantity: 1, UnitPriceCents: fillPrice, AddedAt: at}, "AddOrderLine", at)
			if err != nil {
				return err
			}
			events[i] = es.EventData{Type: e.name, SchemaVersion: e.schemaVersion, Payload: e.payload, Metadata: e.metadata,
				CorrelationID: e.correlation, CausationID: e.correlation, RecordedAt: at}
		}
		err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
			if _, err := es.Append(ctx, tx, stream, es.Exact(version), events); err != nil {
				return err
			}
			last := version + int64(k)
			tag, err := tx.Exec(ctx, fillOverview, id, int64(k)*fillPrice, k, last, at, version)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return fmt.Errorf("order %s: read model not at version %d", id, version)
			}
			_, err = tx.Exec(ctx, fillLines, id, versions, skus, fillPrice)
			return err
		})
		if err != nil {
			return fmt.Errorf("fill order %s: %w", id, err)
		}
		version += int64(k)
		n -= k
	}
	return nil
}

// Fixture orders for the add-line scenario are written in bulk, a few statements per
// chunk of orders, with exactly the rows the service would write (events encoded by
// its codec, head, read model); the scenario checks them through the service.
const (
	bulkEvents = `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version,
		payload, metadata, correlation_id, causation_id, recorded_at)
		SELECT 'order', s, v, id, t, sv, p, m, c, c, $9
		FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::text[])
		     AS e(s, v, id, t, sv, p, m, c)`
	bulkHeads    = `INSERT INTO aggregate_heads (stream_type, stream_id, version) SELECT 'order', s, $2 FROM unnest($1::text[]) AS h(s)`
	bulkOverview = `INSERT INTO order_overview (id, customer_id, status, currency, total_cents, unit_count, version, placed_at, updated_at)
		SELECT id, $2, 'pending', 'EUR', $3, $4, $5, $6, $6 FROM unnest($1::uuid[]) AS o(id)`
	bulkLines = `INSERT INTO order_overview_lines (order_id, line_no, sku, quantity, unit_price_cents)
		SELECT o, v, sku, 1, $4 FROM unnest($1::uuid[], $2::bigint[], $3::text[]) AS l(o, v, sku)`
	bulkChunk = 500
)

// createOrders writes n pending orders of customer, each with lines lines (quantity 1,
// fillPrice each), and returns their ids.
func (w *rawWriter) createOrders(ctx context.Context, n, lines int, customer string) ([]string, error) {
	var all []string
	for n > 0 {
		k := min(n, bulkChunk)
		at := time.Now().UTC().Truncate(time.Microsecond)
		ids := make([]uuid.UUID, k)
		var streams, types, payloads, metadata, corr []string
		var versions []int64
		var eventIDs []uuid.UUID
		var schemas []int32
		var lineOrders []uuid.UUID
		var lineNos []int64
		var skus []string
		add := func(stream string, v int64, e event) {
			streams, versions, eventIDs = append(streams, stream), append(versions, v), append(eventIDs, uuid.Must(uuid.NewV7()))
			types, schemas = append(types, e.name), append(schemas, int32(e.schemaVersion)) //nolint:gosec // schema versions are small numbers set in code
			payloads, metadata, corr = append(payloads, string(e.payload)), append(metadata, string(e.metadata)), append(corr, e.correlation)
		}
		for i := range ids {
			ids[i] = uuid.Must(uuid.NewV7())
			stream := ids[i].String()
			e, err := w.encode(order.OrderPlaced{OrderID: ids[i], CustomerID: customer, Currency: "EUR", PlacedAt: at}, "PlaceOrder", at)
			if err != nil {
				return nil, err
			}
			add(stream, 1, e)
			for j := range lines {
				v := int64(j + 2)
				sku := fmt.Sprintf("fixture-%d", j+1)
				e, err := w.encode(order.OrderLineAdded{SKU: sku, Quantity: 1, UnitPriceCents: fillPrice, AddedAt: at}, "AddOrderLine", at)
				if err != nil {
					return nil, err
				}
				add(stream, v, e)
				lineOrders, lineNos, skus = append(lineOrders, ids[i]), append(lineNos, v), append(skus, sku)
			}
			all = append(all, stream)
		}
		version := int64(1 + lines)
		err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
			var b pgx.Batch
			b.Queue(bulkEvents, streams, versions, eventIDs, types, schemas, payloads, metadata, corr, at)
			b.Queue(bulkHeads, streamIDs(ids), version)
			b.Queue(bulkOverview, ids, customer, int64(lines)*fillPrice, lines, version, at)
			b.Queue(bulkLines, lineOrders, lineNos, skus, fillPrice)
			return tx.SendBatch(ctx, &b).Close()
		})
		if err != nil {
			return nil, fmt.Errorf("create orders: %w", err)
		}
		n -= k
	}
	return all, nil
}

func streamIDs(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
