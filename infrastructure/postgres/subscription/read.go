package subscription

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// PartitionOf is the SQL expression of an event's partition among n ($n): a stable hash
// of its stream (stream_type '/' stream_id), so that one stream always lands in one
// partition. hashtext is PostgreSQL's own text hash (what hash partitioning builds on);
// the cast to bigint comes before abs, which overflows on the smallest int4.
func PartitionOf(streamType, streamID, n string) string {
	return `mod(abs(hashtext(` + streamType + ` || '/' || ` + streamID + `)::bigint), ` + n + `)`
}

// page is one read of a partition: its events, in position order, and how far it
// looked: every event of the partition at or below next is in events or was handled
// before (next never passes the horizon). more is true when it stopped short of the
// horizon; held, when committed events wait beyond the horizon.
type page struct {
	events  []eventstore.RecordedEvent
	next    int64
	horizon int64
	more    bool
	held    bool
}

// readAfter returns up to limit events of partition k after position, in position
// order, none past the log's horizon (eventstore.Horizon): the reader the feed uses.
// Below the horizon the log can no longer change, so a consumer that moves its
// checkpoint to the last event it read never passes one that commits later; and one
// stream's positions follow its versions, because an append draws its positions only
// once it holds the stream's head row. hint, when above position, is a horizon known
// from an earlier read, which a consumer working through a backlog reuses instead of
// sampling again.
//
// held reports committed events beyond the horizon, waiting for an older transaction
// to end (or, after a read up to a hint, that it cannot tell): the consumer reads again
// soon rather than waiting for a notification that such a transaction (a consumer's
// own, a migration) may never send, or that came while it worked through a backlog.
//
// A consumer of one partition, with nothing to pass over, reads what the feed reads and
// its next is the last event it got (an idle read writes nothing). A partition reads
// the rows of every partition and keeps its own (at most scanFactor × limit rows per
// read), and the events a previous set of partitions handled (sk) are passed over;
// its next reaches the horizon when the scan does, so that an idle partition's
// checkpoint follows the log and the consumer's watermark (the lowest) moves.
func readAfter(ctx context.Context, db eventstore.DBTX, h *eventstore.Horizon, k key, sk skip, position, hint int64, limit int) (page, error) {
	horizon, latest := hint, int64(math.MaxInt64) // with a hint, what lies beyond it is unknown: held
	if horizon <= position {
		var err error
		if horizon, latest, err = h.Bounds(ctx, db); err != nil {
			return page{}, err
		}
		if horizon <= position {
			return page{next: position, horizon: horizon, held: latest > horizon}, nil
		}
	}
	held := latest > horizon
	if k.n == 1 && !sk.active(position) {
		p, err := eventstore.ReadFeed(ctx, db, h, eventstore.FeedQuery{After: position, Limit: limit, HorizonHint: horizon})
		if err != nil {
			return page{}, fmt.Errorf("subscription: read after %d: %w", position, err)
		}
		next := position
		if n := len(p.Events); n > 0 {
			next = p.Events[n-1].Position
		}
		return page{events: p.Events, next: next, horizon: horizon, more: len(p.Events) == limit, held: held}, nil
	}
	scan := limit * min(k.n*2, scanFactor)
	skipN := 0
	if sk.active(position) {
		skipN = sk.N
	}
	rows, err := db.Query(ctx, `
		WITH scan AS (
			SELECT global_position, stream_type, stream_id FROM events
			WHERE global_position > $1 AND global_position <= $2
			ORDER BY global_position LIMIT $3),
		stats AS (SELECT count(*) AS n, coalesce(max(global_position), 0) AS last FROM scan),
		hits AS (
			SELECT global_position FROM scan
			WHERE `+PartitionOf("stream_type", "stream_id", "$4")+` = $5
			  AND ($6 = 0 OR global_position > ($7::bigint[])[`+PartitionOf("stream_type", "stream_id", "greatest($6, 1)")+` + 1])
			ORDER BY global_position LIMIT $8)
		SELECT stats.n, stats.last, e.stream_type, e.stream_id, e.stream_version, e.global_position, e.event_id,
			e.event_type, e.schema_version, e.payload, e.metadata, coalesce(e.correlation_id, ''),
			coalesce(e.causation_id, ''), e.recorded_at
		FROM stats LEFT JOIN (hits JOIN events e USING (global_position)) ON true
		ORDER BY e.global_position NULLS LAST`, position, horizon, scan, k.n, k.p, skipN, sk.Positions, limit)
	if err != nil {
		return page{}, fmt.Errorf("subscription: read partition %d/%d after %d: %w", k.p, k.n, position, err)
	}
	defer rows.Close()
	var scanned, last int64
	events := []eventstore.RecordedEvent{}
	for rows.Next() {
		var sType, sID, eType *string
		var version, pos *int64
		var schema *int32
		var id pgtype.UUID
		var e eventstore.RecordedEvent
		var corr, caus *string
		var payload, metadata []byte
		var at *time.Time
		if err := rows.Scan(&scanned, &last, &sType, &sID, &version, &pos, &id, &eType, &schema, &payload, &metadata, &corr, &caus, &at); err != nil {
			return page{}, fmt.Errorf("subscription: read partition %d/%d after %d: %w", k.p, k.n, position, err)
		}
		if pos == nil {
			continue // the stats row of a read without hits
		}
		e.Stream = eventstore.StreamID{Type: *sType, ID: *sID}
		e.Version, e.Position, e.EventID, e.Type, e.SchemaVersion = *version, *pos, id.Bytes, *eType, int(*schema)
		e.Payload, e.Metadata, e.CorrelationID, e.CausationID, e.RecordedAt = payload, metadata, *corr, *caus, *at
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return page{}, fmt.Errorf("subscription: read partition %d/%d after %d: %w", k.p, k.n, position, err)
	}
	p := page{events: events, horizon: horizon, held: held}
	switch n := len(events); {
	case n == limit:
		p.next, p.more = events[n-1].Position, true // scanned rows may remain behind the last hit
	case scanned < int64(scan):
		p.next = horizon // the scan reached the horizon
	default:
		p.next, p.more = last, true
	}
	return p, nil
}

// scanFactor bounds the rows a partition looks at per read, as a multiple of the batch
// size: 2N for N partitions (what it takes to find a batch of its own when the streams
// spread evenly), at most 16.
const scanFactor = 16
