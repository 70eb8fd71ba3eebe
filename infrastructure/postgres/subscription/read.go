package subscription

import (
	"context"
	"fmt"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// cursor is where a consumer is in the log: the last event it handled, in the order it
// reads (transaction id, then position).
type cursor struct {
	TransactionID uint64
	Position      int64
}

// readAfter returns up to limit events after c in (transaction_id, global_position)
// order, of transactions below pg_snapshot_xmin only.
//
// Why not position order below xmin? A transaction can take its id
// early (its first write, e.g. an idempotency key) and its position late; meanwhile a
// transaction with a later id takes a lower position and is still running. Its id is at
// or above xmin, so such a read leaves that event out but returns the first one's higher
// position: a consumer that then resumes from that position has skipped the event
// (TestTransactionOrderBeatsPositionOrder). In transaction order nothing can appear
// behind the cursor: every transaction below xmin has ended, and every later one has an
// id of at least xmin.
func readAfter(ctx context.Context, db eventstore.DBTX, c cursor, limit int) ([]eventstore.RecordedEvent, []uint64, error) {
	rows, err := db.Query(ctx, `SELECT stream_type, stream_id, stream_version, global_position, event_id, event_type,
			schema_version, payload, metadata, coalesce(correlation_id, ''), coalesce(causation_id, ''), recorded_at,
			transaction_id::text::bigint AS xid
		FROM events
		WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
		  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY events.transaction_id, events.global_position -- the index's order, not the bigint above
		LIMIT $3`, fmt.Sprint(c.TransactionID), c.Position, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("subscription: read after %+v: %w", c, err)
	}
	defer rows.Close()
	var events []eventstore.RecordedEvent
	var xids []uint64
	for rows.Next() {
		var e eventstore.RecordedEvent
		var schema int32
		var xid int64
		if err := rows.Scan(&e.Stream.Type, &e.Stream.ID, &e.Version, &e.Position, &e.EventID, &e.Type,
			&schema, &e.Payload, &e.Metadata, &e.CorrelationID, &e.CausationID, &e.RecordedAt, &xid); err != nil {
			return nil, nil, err
		}
		e.SchemaVersion = int(schema)
		events = append(events, e)
		xids = append(xids, uint64(xid)) //nolint:gosec // transaction ids (xid8) are never negative
	}
	return events, xids, rows.Err()
}

// heldBack reports whether the log holds events after c that readAfter could not
// return yet: committed, but at or above pg_snapshot_xmin because an older transaction
// is still running. That transaction may be one that sends no NOTIFY when it ends (a
// consumer's own, a migration), so the consumer must look again soon rather than wait
// for one.
// heldBackSQL is not an EXISTS: PostgreSQL drops ORDER BY and LIMIT inside EXISTS, and
// the generic plan of the prepared statement then scanned the table from its oldest
// rows (150 ms on 800,000 events, against 0.2 ms along the index).
const heldBackSQL = `SELECT (SELECT global_position FROM events WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
	ORDER BY transaction_id, global_position LIMIT 1) IS NOT NULL`

func heldBack(ctx context.Context, db eventstore.DBTX, c cursor) (bool, error) {
	var held bool
	err := db.QueryRow(ctx, heldBackSQL, fmt.Sprint(c.TransactionID), c.Position).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("subscription: held back after %+v: %w", c, err)
	}
	return held, nil
}
