package eventstore

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ErrConcurrency matches every *ConcurrencyError with errors.Is.
var ErrConcurrency = errors.New("eventstore: expected version does not match")

// ConcurrencyError says that the stream was not at the version the appender expected.
// Nothing was written. Actual is the stream's version seen by the failed append.
type ConcurrencyError struct {
	Stream   StreamID
	Expected ExpectedVersion
	Actual   int64
}

func (e *ConcurrencyError) Error() string {
	return fmt.Sprintf("eventstore: stream %s: expected %s, found version %d", e.Stream, e.Expected, e.Actual)
}

func (e *ConcurrencyError) Is(target error) bool { return target == ErrConcurrency }

// ErrDuplicateEvent matches every *DuplicateEventError with errors.Is.
var ErrDuplicateEvent = errors.New("eventstore: duplicate event id")

// DuplicateEventError says that an event id is already in the store. It is not a
// version conflict: retrying the same append can never succeed.
type DuplicateEventError struct {
	EventID uuid.UUID
	Detail  string
}

func (e *DuplicateEventError) Error() string {
	if e.EventID != uuid.Nil {
		return fmt.Sprintf("eventstore: event id %s is already stored", e.EventID)
	}
	return "eventstore: an event id is already stored: " + e.Detail
}

func (e *DuplicateEventError) Is(target error) bool { return target == ErrDuplicateEvent }
