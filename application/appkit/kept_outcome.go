package appkit

import (
	"errors"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// KeptOutcome is what an idempotency key keeps of the command that claimed it: the
// stream and the version it left it at, or the refusal it got. It names no transport:
// a repeat is answered by rendering it again, from the stream as of Version (which
// never changes) or from the same error.
type KeptOutcome struct {
	// ID is the stream the command ran on: a repeat of a create with a server-chosen
	// id is the first request's stream, not the one the repeat would have made.
	ID      uuid.UUID `json:"id"`
	Version int64     `json:"version"`
	Failure *Failure  `json:"failure,omitempty"`
}

// Failure is a refusal worth keeping: one that a repeat must get again.
type Failure struct {
	Kind     string           `json:"kind"` // one of the failure kinds below
	Resource string           `json:"resource,omitempty"`
	Code     string           `json:"code,omitempty"`
	Message  string           `json:"message,omitempty"`
	Exists   bool             `json:"exists,omitempty"`
	Fields   []kit.FieldError `json:"fields,omitempty"`
	Expected int64            `json:"expected,omitempty"`
	Actual   int64            `json:"actual,omitempty"`
}

const (
	failedValidation   = "validation"
	failedConflict     = "conflict"
	failedNotFound     = "not_found"
	failedForbidden    = "forbidden"
	failedPrecondition = "version_conflict" // If-Match named another version
)

// failureOf returns the Failure to keep for err, or false for an error that a retry
// could change (a lost race, the database, a bug): the key is then released.
func failureOf(err error) (*Failure, bool) {
	var validation *kit.ValidationError
	var conflict *kit.ConflictError
	var notFound *kit.NotFoundError
	var version *VersionConflictError
	switch {
	case errors.As(err, &validation):
		return &Failure{Kind: failedValidation, Fields: validation.Fields}, true
	case errors.As(err, &conflict):
		return &Failure{Kind: failedConflict, Resource: conflict.Resource, Code: conflict.Code, Message: conflict.Message, Exists: conflict.Exists}, true
	case errors.As(err, &notFound):
		return &Failure{Kind: failedNotFound, Resource: notFound.Resource}, true
	case errors.Is(err, ErrForbidden):
		return &Failure{Kind: failedForbidden}, true
	case errors.As(err, &version):
		return &Failure{Kind: failedPrecondition, Resource: version.Resource, Expected: version.Expected, Actual: version.Actual}, true
	}
	return nil, false
}

// err is the error the kept failure stands for, equal (errors.Is, errors.As) to the
// one first returned.
func (f *Failure) err(id uuid.UUID) error {
	switch f.Kind {
	case failedValidation:
		return &kit.ValidationError{Fields: f.Fields}
	case failedConflict:
		return &kit.ConflictError{Resource: f.Resource, Code: f.Code, Message: f.Message, Exists: f.Exists}
	case failedNotFound:
		return kit.NotFound(f.Resource)
	case failedForbidden:
		return ErrForbidden
	case failedPrecondition:
		return &VersionConflictError{Resource: f.Resource, ID: id, Expected: f.Expected, Actual: f.Actual}
	}
	return errors.New("kept outcome: unknown failure kind " + f.Kind)
}
