package eventstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Horizon finds the highest global position below which the log can no longer change:
// every position at or below it belongs to a committed event, or to a transaction
// that rolled back and will never fill it. A reader that pages by position and stops
// at the horizon therefore never passes an event that commits later.
//
// Why not just `transaction_id < pg_snapshot_xmin`: positions are handed out in
// time order, transaction ids in the order transactions first write, and the two
// orders differ. A transaction T0 that took its id first (xid 99) may append after
// T1 (xid 100, position 5, still open) and commit position 6; xmin is 100, so 6
// passes the xid test while 5 is invisible, and a reader that moves past 6 never sees
// 5. Position order needs a position horizon.
//
// How it is found: one statement takes a transaction id X (pg_current_xact_id) and
// reads the highest visible position P. Every position at or below P was handed out
// before that statement, by a transaction that already had its id (the append takes
// its id in the head statement, before the INSERT draws positions), so below X. Once
// no transaction up to X is running (a later pg_snapshot_xmin > X), all of them are
// final. (The snapshot's xmax is not enough: it is the latest completed id + 1, and a
// transaction with an id at or above it can be running and hold a lower position.)
// A Horizon keeps the recent samples of one process and promotes each when it
// qualifies, waiting a little for the in-flight commands of the moment to end. A
// sample costs one transaction id. A transaction held open holds the horizon back for
// as long as it runs: that is the price of never skipping an event.
type Horizon struct {
	mu      sync.Mutex
	safe    int64
	pending []horizonSample // xmax ascending
	// Wait is how long Safe waits for the transactions running at its sample to end
	// before it settles for the best horizon already known (default 250ms).
	Wait time.Duration
}

type horizonSample struct{ xid, position int64 }

// sampleHorizon's transaction takes an id and writes nothing: its commit need not
// wait for a WAL flush (synchronous_commit off for this transaction only). It also
// reads xmin, which promotes earlier samples without another round trip.
const sampleHorizon = `SELECT set_config('synchronous_commit', 'off', true), pg_current_xact_id()::text::bigint,
	coalesce((SELECT max(global_position) FROM events), 0), pg_snapshot_xmin(pg_current_snapshot())::text::bigint`

const readXmin = `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`

// Safe returns the current horizon (0 when nothing is final yet).
func (h *Horizon) Safe(ctx context.Context, db DBTX) (int64, error) {
	safe, _, err := h.Bounds(ctx, db)
	return safe, err
}

// Bounds returns the horizon and the highest position committed when it was sampled.
// safe < latest means committed events wait behind a transaction that is still
// running: a reader that wants them must look again soon, since the end of that
// transaction may send no notification.
func (h *Horizon) Bounds(ctx context.Context, db DBTX) (safe, latest int64, err error) {
	var xid, xmin int64
	var setting string
	if err := db.QueryRow(ctx, sampleHorizon).Scan(&setting, &xid, &latest, &xmin); err != nil {
		return 0, 0, fmt.Errorf("eventstore: horizon: %w", err)
	}
	h.add(xmin, horizonSample{xid: xid, position: latest})
	wait := h.Wait
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	pause := time.Duration(0)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause+time.Millisecond, 20*time.Millisecond)
		if err := db.QueryRow(ctx, readXmin).Scan(&xmin); err != nil {
			return 0, 0, fmt.Errorf("eventstore: horizon: %w", err)
		}
		if safe := h.add(xmin, horizonSample{}); xmin > xid {
			return safe, latest, nil // this call's sample is final (and so in safe)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.safe, latest, nil
}

// add records a sample (unless zero) and promotes every pending sample that xmin
// shows to be final, returning the horizon. (Concurrent callers each wait for their
// own sample only.)
func (h *Horizon) add(xmin int64, s horizonSample) (safe int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.xid > 0 {
		h.pending = append(h.pending, s)
		if len(h.pending) > 64 { // keep the newest; an older one is superseded by them
			h.pending = h.pending[len(h.pending)-64:]
		}
	}
	kept := h.pending[:0]
	for _, p := range h.pending {
		if p.xid < xmin {
			h.safe = max(h.safe, p.position)
		} else {
			kept = append(kept, p)
		}
	}
	h.pending = kept
	return h.safe
}

// FeedQuery selects a page of the whole log.
type FeedQuery struct {
	After       int64    // positions strictly after this
	Limit       int      // at most this many events (>= 1)
	Types       []string // if not empty, only these event types
	StreamType  string   // if not empty, only this stream type
	ScanLimit   int      // rows looked at per page at most (>= Limit); filtered rows count
	HorizonHint int64    // if > 0, a horizon the caller already has (skips sampling)
}

// FeedPage is one page of the log. NextAfter is where the next page starts: past the
// events returned and past the rows the filters skipped, never past the horizon.
// AtHead is true when nothing at or below the horizon is left after NextAfter.
type FeedPage struct {
	Events    []RecordedEvent
	NextAfter int64
	AtHead    bool
	Horizon   int64
}

// ReadFeed returns the events after q.After, in position order, that match the
// filters, never past the horizon. It looks at no more than q.ScanLimit rows, so a
// filter that matches little costs a bounded read; the page then has fewer events
// but a NextAfter past everything it looked at.
func ReadFeed(ctx context.Context, db DBTX, h *Horizon, q FeedQuery) (FeedPage, error) {
	if q.Limit <= 0 {
		return FeedPage{}, fmt.Errorf("eventstore: feed: limit must be positive, got %d", q.Limit)
	}
	scan := max(q.ScanLimit, q.Limit)
	horizon := q.HorizonHint
	if horizon <= 0 {
		var err error
		if horizon, err = h.Safe(ctx, db); err != nil {
			return FeedPage{}, err
		}
	}
	page := FeedPage{Events: []RecordedEvent{}, NextAfter: q.After, Horizon: horizon}
	if horizon <= q.After {
		page.AtHead = true
		return page, nil
	}
	if len(q.Types) == 0 && q.StreamType == "" {
		return readAll(ctx, db, q, page)
	}
	types := q.Types
	if types == nil {
		types = []string{}
	}
	// scan: the rows this page looks at; hits: those the filters keep, up to limit.
	// Every row carries the scan's size and last position, so an empty page still
	// says how far it looked (the UNION ALL adds one row without an event for that).
	rows, err := db.Query(ctx, `
		WITH scan AS (
			SELECT global_position, stream_type, event_type FROM events
			WHERE global_position > $1 AND global_position <= $2
			ORDER BY global_position LIMIT $3),
		stats AS (SELECT count(*) AS n, coalesce(max(global_position), 0) AS last FROM scan),
		hits AS (
			SELECT global_position FROM scan
			WHERE (cardinality($4::text[]) = 0 OR event_type = ANY($4))
			  AND ($5 = '' OR stream_type = $5)
			ORDER BY global_position LIMIT $6)
		SELECT stats.n, stats.last, e.stream_type, e.stream_id, e.stream_version, e.global_position, e.event_id,
			e.event_type, e.schema_version, e.payload, e.metadata, coalesce(e.correlation_id, ''),
			coalesce(e.causation_id, ''), e.recorded_at
		FROM stats, hits JOIN events e USING (global_position)
		UNION ALL
		SELECT stats.n, stats.last, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM stats
		ORDER BY 6 NULLS LAST`, q.After, horizon, scan, types, q.StreamType, q.Limit)
	if err != nil {
		return FeedPage{}, fmt.Errorf("eventstore: feed after %d: %w", q.After, err)
	}
	defer rows.Close()
	var scanned, last int64
	for rows.Next() {
		var e RecordedEvent
		var sType, sID, eType, corr, caus *string
		var version, position *int64
		var schema *int32
		var payload, metadata []byte
		var recordedAt *time.Time
		var eventID pgtype.UUID
		if err := rows.Scan(&scanned, &last, &sType, &sID, &version, &position, &eventID, &eType, &schema,
			&payload, &metadata, &corr, &caus, &recordedAt); err != nil {
			return FeedPage{}, fmt.Errorf("eventstore: feed after %d: %w", q.After, err)
		}
		if position == nil {
			continue // the stats row
		}
		e.EventID = eventID.Bytes
		e.Stream = StreamID{Type: *sType, ID: *sID}
		e.Version, e.Position, e.Type, e.SchemaVersion = *version, *position, *eType, int(*schema)
		e.Payload, e.Metadata, e.CorrelationID, e.CausationID, e.RecordedAt = payload, metadata, *corr, *caus, *recordedAt
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return FeedPage{}, fmt.Errorf("eventstore: feed after %d: %w", q.After, err)
	}
	complete := scanned < int64(scan) // the scan reached the horizon
	n := len(page.Events)
	switch {
	case n == q.Limit && page.Events[n-1].Position != last:
		page.NextAfter = page.Events[n-1].Position // more scanned rows remain behind the last hit
	case complete:
		page.NextAfter, page.AtHead = horizon, true
	default:
		page.NextAfter = last
	}
	return page, nil
}

// readAll is ReadFeed without filters (what the consumers read): every row it scans is
// an event on the page.
func readAll(ctx context.Context, db DBTX, q FeedQuery, page FeedPage) (FeedPage, error) {
	rows, err := db.Query(ctx, selectEvents+`WHERE global_position > $1 AND global_position <= $2
		ORDER BY global_position LIMIT $3`, q.After, page.Horizon, q.Limit)
	if err != nil {
		return FeedPage{}, fmt.Errorf("eventstore: feed after %d: %w", q.After, err)
	}
	if page.Events, err = scanEvents(rows); err != nil {
		return FeedPage{}, fmt.Errorf("eventstore: feed after %d: %w", q.After, err)
	}
	if n := len(page.Events); n == q.Limit {
		page.NextAfter = page.Events[n-1].Position
	} else {
		page.NextAfter, page.AtHead = page.Horizon, true
	}
	return page, nil
}
