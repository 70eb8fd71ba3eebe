package eventstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// StreamID names one stream: an aggregate type and an id within it.
type StreamID struct {
	Type string
	ID   string
}

func (s StreamID) String() string { return s.Type + "/" + s.ID }

// EventData is an event on its way in. EventID, if zero, is set to a new UUIDv7, so ids
// are time-ordered and index-friendly. RecordedAt, if zero, is the database's now().
type EventData struct {
	EventID       uuid.UUID
	Type          string
	SchemaVersion int
	Payload       json.RawMessage
	Metadata      json.RawMessage
	CorrelationID string
	CausationID   string
	RecordedAt    time.Time
}

// RecordedEvent is an event as stored: its data plus where it landed.
type RecordedEvent struct {
	Stream   StreamID
	Version  int64 // 1-based position within the stream
	Position int64 // global_position, increasing across all streams
	EventData
}

// DBTX is what Append and the reads need: a pgx.Tx, a *pgx.Conn or a *pgxpool.Pool.
// Append should be given a transaction, so that what else the caller writes commits
// with the events.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
