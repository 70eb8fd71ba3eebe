package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Each append is one statement: a data-modifying CTE moves the stream's head in
// aggregate_heads, and the INSERT writes all events with versions counted from the new
// head. If the head does not move (the expectation failed), the CTE returns no row, no
// event is inserted, and Append reports a ConcurrencyError. Concurrent appenders to one
// stream queue on the head row's lock; a waiter re-checks its condition against the
// committed version (READ COMMITTED re-evaluation), so exactly one of them wins per
// version.
const (
	// NoStream: create the head. When it exists, the guard (versions start at 1, so it
	// never holds) leaves the row alone and returns nothing: unlike a plain INSERT, whose
	// unique violation would abort the caller's transaction before we could read the
	// actual version to report.
	headNoStream = `INSERT INTO aggregate_heads AS h (stream_type, stream_id, version) VALUES ($1, $2, $3)
		ON CONFLICT (stream_type, stream_id) DO UPDATE SET version = h.version + EXCLUDED.version
		WHERE h.version = 0
		RETURNING version`
	// Exact(n), n > 0: move the head only from n.
	headExact = `UPDATE aggregate_heads SET version = version + $3
		WHERE stream_type = $1 AND stream_id = $2 AND version = $12
		RETURNING version`

	insertEvents = `
		INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version,
		                    payload, metadata, correlation_id, causation_id, recorded_at)
		SELECT $1, $2, head.version - $3 + e.ord, e.event_id, e.event_type, e.schema_version,
		       e.payload, e.metadata, NULLIF(e.correlation_id, ''), NULLIF(e.causation_id, ''),
		       COALESCE(e.recorded_at, now())
		FROM head, unnest($4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[], $11::timestamptz[])
		     WITH ORDINALITY AS e(event_id, event_type, schema_version, payload, metadata, correlation_id, causation_id, recorded_at, ord)
		RETURNING stream_version, global_position, recorded_at`

	readHead = `SELECT version FROM aggregate_heads WHERE stream_type = $1 AND stream_id = $2`
)

var appendSQL = map[expectation]string{
	expectNoStream: "WITH head AS (" + headNoStream + ")" + insertEvents,
	expectExact:    "WITH head AS (" + headExact + ")" + insertEvents,
}

// ErrNoEvents is returned by Append when given nothing to append.
var ErrNoEvents = errors.New("eventstore: nothing to append")

// Append writes events to the end of stream if the stream's version matches expected,
// in one statement on db (give it the caller's transaction). It returns the events as
// stored, in order, with their versions and global positions. A mismatch returns a
// *ConcurrencyError and writes nothing; a reused event id returns a *DuplicateEventError
// (and, like any database error, leaves the transaction unusable).
func Append(ctx context.Context, db DBTX, stream StreamID, expected ExpectedVersion, events []EventData) ([]RecordedEvent, error) {
	if len(events) == 0 {
		return nil, ErrNoEvents
	}
	if stream.Type == "" || stream.ID == "" {
		return nil, fmt.Errorf("eventstore: append: stream type and id must be set, got %q", stream)
	}
	cols, err := columnsOf(events)
	if err != nil {
		return nil, fmt.Errorf("eventstore: append to %s: %w", stream, err)
	}
	n := int64(len(events))
	args := []any{stream.Type, stream.ID, n,
		cols.ids, cols.types, cols.schemaVersions, cols.payloads, cols.metadata, cols.correlations, cols.causations, cols.recordedAt}
	if expected.kind == expectExact {
		args = append(args, expected.version)
	}
	rows, err := db.Query(ctx, appendSQL[expected.kind], args...)
	if err != nil {
		return nil, appendError(stream, expected, err)
	}
	defer rows.Close()
	type landed struct {
		version, position int64
		at                pgtype.Timestamptz
	}
	var got []landed
	for rows.Next() {
		var l landed
		if err := rows.Scan(&l.version, &l.position, &l.at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("eventstore: append to %s: scan: %w", stream, err)
		}
		got = append(got, l)
	}
	if err := rows.Err(); err != nil {
		return nil, appendError(stream, expected, err)
	}
	if len(got) == 0 {
		return nil, conflict(ctx, db, stream, expected)
	}
	if int64(len(got)) != n {
		return nil, fmt.Errorf("eventstore: append to %s: %d of %d events stored", stream, len(got), n)
	}
	// RETURNING order is not guaranteed; the versions are head-n+1..head, so each
	// event's index is its version's offset from the lowest.
	first := got[0].version
	for _, l := range got {
		first = min(first, l.version)
	}
	recorded := make([]RecordedEvent, n)
	for _, l := range got {
		i := l.version - first
		recorded[i] = RecordedEvent{Stream: stream, Version: l.version, Position: l.position, EventData: events[i]}
		recorded[i].EventID = cols.ids[i]
		recorded[i].RecordedAt = l.at.Time
		if recorded[i].SchemaVersion == 0 {
			recorded[i].SchemaVersion = 1
		}
	}
	return recorded, nil
}

// conflict reads the stream's actual version for the error. The failed statement took
// the head row's lock where there was a row, so the version read is the one it saw.
func conflict(ctx context.Context, db DBTX, stream StreamID, expected ExpectedVersion) error {
	var actual int64
	err := db.QueryRow(ctx, readHead, stream.Type, stream.ID).Scan(&actual)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("eventstore: append to %s: read version after conflict: %w", stream, err)
	}
	return &ConcurrencyError{Stream: stream, Expected: expected, Actual: actual}
}

func appendError(stream StreamID, expected ExpectedVersion, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		switch pgErr.ConstraintName {
		case "events_event_id_key":
			return &DuplicateEventError{EventID: eventIDFromDetail(pgErr.Detail), Detail: pgErr.Detail}
		case "events_stream_version_key":
			// Only reachable if something wrote events without moving the head.
			return &ConcurrencyError{Stream: stream, Expected: expected, Actual: -1}
		}
	}
	return fmt.Errorf("eventstore: append to %s: %w", stream, err)
}

// eventIDFromDetail pulls the id out of "Key (event_id)=(…) already exists."
func eventIDFromDetail(detail string) uuid.UUID {
	_, rest, ok := strings.Cut(detail, ")=(")
	if !ok {
		return uuid.Nil
	}
	id, _, _ := strings.Cut(rest, ")")
	u, _ := uuid.Parse(id)
	return u
}

// columns holds events column by column, for unnest.
type columns struct {
	ids            []uuid.UUID
	types          []string
	schemaVersions []int32
	payloads       []string
	metadata       []string
	correlations   []string
	causations     []string
	recordedAt     []pgtype.Timestamptz
}

func columnsOf(events []EventData) (columns, error) {
	n := len(events)
	c := columns{
		ids: make([]uuid.UUID, n), types: make([]string, n), schemaVersions: make([]int32, n),
		payloads: make([]string, n), metadata: make([]string, n), correlations: make([]string, n),
		causations: make([]string, n), recordedAt: make([]pgtype.Timestamptz, n),
	}
	for i, e := range events {
		if e.Type == "" {
			return c, fmt.Errorf("event %d has no type", i)
		}
		if len(e.Payload) == 0 {
			return c, fmt.Errorf("event %d (%s) has no payload", i, e.Type)
		}
		c.ids[i] = e.EventID
		if c.ids[i] == uuid.Nil {
			id, err := uuid.NewV7()
			if err != nil {
				return c, fmt.Errorf("new event id: %w", err)
			}
			c.ids[i] = id
		}
		c.types[i] = e.Type
		c.schemaVersions[i] = int32(max(e.SchemaVersion, 1)) //nolint:gosec // schema versions are small numbers set in code
		c.payloads[i] = string(e.Payload)
		c.metadata[i] = "{}"
		if len(e.Metadata) > 0 {
			c.metadata[i] = string(e.Metadata)
		}
		c.correlations[i] = e.CorrelationID
		c.causations[i] = e.CausationID
		c.recordedAt[i] = pgtype.Timestamptz{Time: e.RecordedAt, Valid: !e.RecordedAt.IsZero()}
	}
	return c, nil
}

// The guarded append: the same statement, but a head that did not move calls
// eventstore_version_mismatch (migration 00007), which raises SQLSTATE ES409 and so
// aborts the whole transaction. It returns the events' global positions, which its
// caller reads when the batch that carried it (with the COMMIT) is answered.
const (
	guardHead = `, checked AS (
			SELECT version FROM head
			UNION ALL
			SELECT eventstore_version_mismatch($1, $2) WHERE NOT EXISTS (SELECT 1 FROM head))`
	insertGuarded = `
		INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version,
		                    payload, metadata, correlation_id, causation_id, recorded_at)
		SELECT $1, $2, head.version - $3 + e.ord, e.event_id, e.event_type, e.schema_version,
		       e.payload, e.metadata, NULLIF(e.correlation_id, ''), NULLIF(e.causation_id, ''),
		       COALESCE(e.recorded_at, now())
		FROM checked AS head, unnest($4::uuid[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[], $11::timestamptz[])
		     WITH ORDINALITY AS e(event_id, event_type, schema_version, payload, metadata, correlation_id, causation_id, recorded_at, ord)
		RETURNING global_position`
)

// insertOneGuarded is insertGuarded for the common case of one event, with scalar
// parameters: encoding eight one-element arrays costs the client more CPU than the
// statement costs the server.
const insertOneGuarded = `
		INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version,
		                    payload, metadata, correlation_id, causation_id, recorded_at)
		SELECT $1, $2, head.version, $4::uuid, $5::text, $6::int, $7::jsonb, $8::jsonb,
		       NULLIF($9::text, ''), NULLIF($10::text, ''), COALESCE($11::timestamptz, now())
		FROM checked AS head
		RETURNING global_position`

var guardedOneSQL = map[expectation]string{
	expectNoStream: "WITH head AS (" + headNoStream + ")" + guardHead + insertOneGuarded,
	expectExact:    "WITH head AS (" + headExact + ")" + guardHead + insertOneGuarded,
}

var guardedSQL = map[expectation]string{
	expectNoStream: "WITH head AS (" + headNoStream + ")" + guardHead + insertGuarded,
	expectExact:    "WITH head AS (" + headExact + ")" + guardHead + insertGuarded,
}

// VersionMismatchCode is the SQLSTATE a guarded append raises when the stream is not at
// the expected version.
const VersionMismatchCode = "ES409"

// IsVersionMismatch reports whether err is a guarded append's failed expectation.
func IsVersionMismatch(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == VersionMismatchCode
}

// GuardedAppend is Append for a caller that will not wait for the result: it returns
// the statement and its arguments, to be queued in a batch (typically with the rest of
// the transaction and its COMMIT), and the events as they will be stored, with their
// versions counted from expected and their ids set; their global positions are unknown
// (0). If the stream is not at expected when the statement runs, it raises SQLSTATE
// VersionMismatchCode, which aborts the transaction.
func GuardedAppend(stream StreamID, expected ExpectedVersion, events []EventData) (sql string, args []any, recorded []RecordedEvent, err error) {
	if len(events) == 0 {
		return "", nil, nil, ErrNoEvents
	}
	if stream.Type == "" || stream.ID == "" {
		return "", nil, nil, fmt.Errorf("eventstore: append: stream type and id must be set, got %q", stream)
	}
	from := expected.Version()
	cols, err := columnsOf(events)
	if err != nil {
		return "", nil, nil, fmt.Errorf("eventstore: append to %s: %w", stream, err)
	}
	n := int64(len(events))
	sql = guardedSQL[expected.kind]
	if n == 1 {
		sql = guardedOneSQL[expected.kind]
		var at any // NULL: now()
		if cols.recordedAt[0].Valid {
			at = cols.recordedAt[0].Time
		}
		args = []any{stream.Type, stream.ID, n, cols.ids[0], cols.types[0], cols.schemaVersions[0], cols.payloads[0], cols.metadata[0],
			cols.correlations[0], cols.causations[0], at}
	} else {
		args = []any{stream.Type, stream.ID, n,
			cols.ids, cols.types, cols.schemaVersions, cols.payloads, cols.metadata, cols.correlations, cols.causations, cols.recordedAt}
	}
	if expected.kind == expectExact {
		args = append(args, expected.version)
	}
	recorded = make([]RecordedEvent, n)
	for i, e := range events {
		recorded[i] = RecordedEvent{Stream: stream, Version: from + int64(i) + 1, EventData: e}
		recorded[i].EventID = cols.ids[i]
		recorded[i].SchemaVersion = int(cols.schemaVersions[i])
	}
	return sql, args, recorded, nil
}
