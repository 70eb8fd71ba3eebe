package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

const selectEvents = `SELECT stream_type, stream_id, stream_version, global_position, event_id, event_type,
	schema_version, payload, metadata, coalesce(correlation_id, ''), coalesce(causation_id, ''), recorded_at
	FROM events `

// StreamRange narrows ReadStream. The zero value reads the whole stream.
type StreamRange struct {
	From  int64      // first version to read; 0 or 1 means from the start
	To    int64      // last version to read; 0 means to the end
	Until *time.Time // if set, only events recorded at or before it
}

// ReadStream returns a stream's events in version order. A stream with no events gives
// an empty slice and no error.
func ReadStream(ctx context.Context, db DBTX, stream StreamID, r StreamRange) ([]RecordedEvent, error) {
	to := r.To
	if to <= 0 {
		to = math.MaxInt64
	}
	var until pgtype.Timestamptz
	if r.Until != nil {
		until = pgtype.Timestamptz{Time: *r.Until, Valid: true}
	}
	rows, err := db.Query(ctx, selectEvents+`
		WHERE stream_type = $1 AND stream_id = $2 AND stream_version BETWEEN $3 AND $4
		  AND ($5::timestamptz IS NULL OR recorded_at <= $5)
		ORDER BY stream_version`, stream.Type, stream.ID, max(r.From, 1), to, until)
	if err != nil {
		return nil, fmt.Errorf("eventstore: read %s: %w", stream, err)
	}
	events, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("eventstore: read %s: %w", stream, err)
	}
	return events, nil
}

// StreamVersion returns the stream's current version, 0 if it has no events.
func StreamVersion(ctx context.Context, db DBTX, stream StreamID) (int64, error) {
	var v int64
	err := db.QueryRow(ctx, readHead, stream.Type, stream.ID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("eventstore: version of %s: %w", stream, err)
	}
	return v, nil
}

func scanEvents(rows pgx.Rows) ([]RecordedEvent, error) {
	defer rows.Close()
	events := []RecordedEvent{}
	for rows.Next() {
		var e RecordedEvent
		var schema int32
		var payload, metadata []byte
		if err := rows.Scan(&e.Stream.Type, &e.Stream.ID, &e.Version, &e.Position, &e.EventID, &e.Type,
			&schema, &payload, &metadata, &e.CorrelationID, &e.CausationID, &e.RecordedAt); err != nil {
			return nil, err
		}
		e.SchemaVersion = int(schema)
		e.Payload, e.Metadata = payload, metadata
		events = append(events, e)
	}
	return events, rows.Err()
}
