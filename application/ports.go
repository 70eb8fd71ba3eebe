package application

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Transactor runs fn in one database transaction on the streams of one aggregate type
// and commits if fn returns nil. Everything a command writes (events, inline read
// models, idempotency record) goes through the StreamTx it is given, so it all commits
// or rolls back together. Implementations wrap errors caused by an unreachable database
// with ErrUnavailable, and an unanswered COMMIT with ErrOutcomeUnknown. fn may run more
// than once (an implementation may first try it on a state it did not read, and run it
// again on the stored one), so it must not keep anything from an earlier run.
type Transactor[S, E any] interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context, tx StreamTx[S, E]) error) error
}

// StreamTx is the write side's view of one transaction, for an aggregate whose state
// is S and whose events are E. Streams are named by the aggregate's id.
type StreamTx[S, E any] interface {
	// Lock makes concurrent writers of the stream wait until this transaction ends (and
	// waits for one that holds it). A retry takes it first, so that after losing one
	// race it cannot lose another. A stream with no events has nothing to lock.
	Lock(ctx context.Context, id uuid.UUID) error
	// Load returns the stream's current state and version (the initial state and 0
	// when it has no events).
	Load(ctx context.Context, id uuid.UUID) (Versioned[S], error)
	// Append appends events if the stream is at expectedVersion and brings the inline
	// read models up to date in the same transaction; otherwise it returns a
	// *VersionConflictError carrying the actual version.
	Append(ctx context.Context, id uuid.UUID, expectedVersion int64, events []E, md Metadata, at time.Time) ([]RecordedEvent[E], error)
	IdempotencyStore
}

// IdempotencyStore keeps responses for Idempotency-Key inside the command's transaction.
type IdempotencyStore interface {
	// ClaimIdempotencyKey records key for this transaction, or returns the record that a
	// committed transaction left for it. A concurrent claimer of the same key waits until
	// the first one's transaction ends.
	ClaimIdempotencyKey(ctx context.Context, key IdempotencyKey, fingerprint string, keepFor time.Duration) (IdempotencyRecord, error)
	// SaveIdempotentResponse stores the response for a key claimed in this transaction.
	SaveIdempotentResponse(ctx context.Context, key IdempotencyKey, response StoredResponse) error
}

// IdempotencyKey is a client's Idempotency-Key within the scope of the principal that
// sent it (its subject): two principals' equal keys are different keys.
type IdempotencyKey struct {
	Scope string
	Key   string
}

// Versioned is an aggregate's state as of a version of its stream.
type Versioned[S any] struct {
	State   S
	Version int64
	// Position is the global log position of the stream's last event (0 if unknown):
	// what an asynchronous read model must have passed to reflect this version.
	Position int64
}

// RecordedEvent is an event as stored, decoded into its current shape.
type RecordedEvent[E any] struct {
	EventID       uuid.UUID
	Type          string // stored name, e.g. "OrderPlaced"
	SchemaVersion int    // the version it was stored with; Event is always the current shape
	Version       int64
	Position      int64
	RecordedAt    time.Time
	Event         E
	Data          json.RawMessage // the payload as stored
	Metadata      json.RawMessage
}

// IdempotencyRecord is what ClaimIdempotencyKey found. Claimed is true when this
// transaction now owns the key; otherwise Fingerprint and Response are the first
// request's.
type IdempotencyRecord struct {
	Claimed     bool
	Fingerprint string
	Response    StoredResponse
}

// StoredResponse is a response kept for an idempotency key, opaque to the application:
// the transport decides what goes in it and replays it as it is.
type StoredResponse struct {
	Status      int
	ContentType string
	Headers     map[string]string
	Body        []byte
}
