package kit

import "strings"

// The kinds of error a decider (or a query) returns. Transports map each kind to one
// answer (validation → 400, not found → 404, conflict → 409) and take the wording from
// the error, so a new aggregate needs no change there.

// FieldError names one field of a command and what is wrong with it. Field uses the
// snake_case name the field has on the wire.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every field of a command that breaks a rule, so that a client
// can fix them all at once.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid command: " + strings.Join(parts, "; ")
}

// ConflictError says that a well-formed command cannot be applied to the aggregate in
// the state it is in: a business rule refuses it. Code is stable and machine-readable
// (e.g. "order_not_pending"); Message is for people; Resource names the aggregate
// ("order") for wording such as "Conflict with the order's state".
type ConflictError struct {
	Resource string
	Code     string
	Message  string
	// Exists marks the conflict of creating a resource that already exists, so that a
	// transport can point at it (HTTP answers 409 with its Location when it knows it).
	Exists bool
}

func (e *ConflictError) Error() string { return e.Message }

// Is matches another ConflictError of the same resource and code: a conflict kept and
// rebuilt (an idempotent replay) is the same conflict as the one first returned.
func (e *ConflictError) Is(target error) bool {
	t, ok := target.(*ConflictError)
	return ok && t.Resource == e.Resource && t.Code == e.Code
}

// NotFoundError says that the aggregate (or the version or moment of it asked for)
// does not exist. Resource names it ("order"); its code is Resource + "_not_found".
type NotFoundError struct {
	Resource string
}

// ErrNotFound matches every *NotFoundError with errors.Is.
var ErrNotFound = &NotFoundError{}

// NotFound returns the not-found error of one resource; errors.Is matches it against
// itself, against another NotFound of the same resource and against ErrNotFound.
func NotFound(resource string) *NotFoundError { return &NotFoundError{Resource: resource} }

func (e *NotFoundError) Error() string { return e.Resource + " not found" }

func (e *NotFoundError) Is(target error) bool {
	t, ok := target.(*NotFoundError)
	return ok && (t.Resource == "" || t.Resource == e.Resource)
}
