package appkit

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ErrVersionConflict matches every *VersionConflictError.
var ErrVersionConflict = errors.New("stream was changed concurrently")

// VersionConflictError says that a stream was not at the expected version. Resource
// names the aggregate ("order") for wording. Retried is false when the caller named the
// version (If-Match) and true when the handler chose it and ran out of retries.
type VersionConflictError struct {
	Resource string
	ID       uuid.UUID
	Expected int64
	Actual   int64
	Retried  bool
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("%s %s: expected version %d, found %d", e.Resource, e.ID, e.Expected, e.Actual)
}

func (e *VersionConflictError) Is(target error) bool { return target == ErrVersionConflict }

// ErrUnavailable marks errors caused by the database being unreachable; the request
// may succeed if retried later.
var ErrUnavailable = errors.New("database unavailable")

// ErrOutcomeUnknown marks a command whose COMMIT was sent but not answered: it may or
// may not have been recorded. Retrying with the same idempotency key is safe.
var ErrOutcomeUnknown = errors.New("the command's outcome is unknown")

// ErrIdempotencyKeyReused answers a repeated idempotency key whose request differs from
// the first one that used it.
var ErrIdempotencyKeyReused = errors.New("idempotency key was used for a different request")

// ErrUnverified says that an Optimistic attempt decided on a state it did not read and
// that turned out not to hold, or that it could not check: nothing was written, and
// the command handler runs the attempt again, reading.
var ErrUnverified = errors.New("the attempt's unread state did not hold")

// ErrReadModelBehind means an asynchronous read model had not reached the position
// asked for within the wait. The transport answers 503 with Retry-After.
var ErrReadModelBehind = errors.New("read model is behind the requested position")

// BehindError says how far behind.
type BehindError struct {
	Wanted, Reached int64
}

func (e *BehindError) Error() string {
	return fmt.Sprintf("read model at position %d, %d asked for", e.Reached, e.Wanted)
}
func (e *BehindError) Unwrap() error { return ErrReadModelBehind }
