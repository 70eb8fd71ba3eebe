package appkit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// EventStore is the write side's port for one aggregate type whose state is S and
// whose events are E: it runs one attempt of a command on one stream, in one database
// transaction, and commits if fn returns nil. Everything the attempt writes (events,
// inline read models, the idempotency outcome) goes through the StreamTx it is given,
// so it all commits or rolls back together.
//
// It returns the stream as the attempt left it: after its append, with the positions
// the commit gave, or as last loaded. Errors caused by an unreachable database wrap
// ErrUnavailable, an unanswered COMMIT wraps ErrOutcomeUnknown, and an Optimistic
// attempt whose guess did not hold returns ErrUnverified (nothing was written).
type EventStore[S, E any] interface {
	Attempt(ctx context.Context, id uuid.UUID, mode Mode, fn func(ctx context.Context, tx StreamTx[S, E]) error) (Versioned[S], error)
}

// Mode is how an attempt reads the stream; the command handler picks it (see Handle).
type Mode int

const (
	// Optimistic lets Load answer from the state the store remembers, or take an
	// unknown stream to be new, without reading; the append then checks that guess
	// as it commits, in the same round trip. A guess that fails, or an attempt that
	// decides anything but an append on a guess, ends in ErrUnverified.
	Optimistic Mode = iota
	// Read reads the stream before deciding.
	Read
	// Lock makes concurrent writers of the stream wait until this transaction ends
	// (and waits for one that holds it), then reads: after losing one race a command
	// cannot lose another.
	Lock
)

// StreamTx is one attempt's transaction on one stream.
type StreamTx[S, E any] interface {
	// Load returns the stream's current state and version (the initial state and 0
	// when it has no events).
	Load(ctx context.Context) (Versioned[S], error)
	// LoadVersion returns the stream id as of version, for replaying a kept outcome:
	// its stream may not be this attempt's (a create with a server-chosen id).
	LoadVersion(ctx context.Context, id uuid.UUID, version int64) (Versioned[S], error)
	// Append appends events if the stream is at expectedVersion and brings the inline
	// read models up to date in the same transaction; otherwise it returns a
	// *VersionConflictError carrying the actual version.
	Append(ctx context.Context, expectedVersion int64, events []E, md Metadata, at time.Time) error
	// ClaimIdempotencyKey records key for this transaction, or returns the record that a
	// committed transaction left for it. A concurrent claimer of the same key waits until
	// the first one's transaction ends. In Optimistic mode a store may take the key to be
	// new without asking; if it was not, the attempt then ends in ErrUnverified, with
	// nothing written.
	ClaimIdempotencyKey(ctx context.Context, key IdempotencyKey, fingerprint string, keepFor time.Duration) (IdempotencyRecord, error)
	// KeepOutcome stores the outcome for a key claimed in this transaction.
	KeepOutcome(ctx context.Context, key IdempotencyKey, outcome KeptOutcome) error
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
// transaction now owns the key; otherwise Fingerprint and Outcome are the first
// request's.
type IdempotencyRecord struct {
	Claimed     bool
	Fingerprint string
	Outcome     KeptOutcome
}
