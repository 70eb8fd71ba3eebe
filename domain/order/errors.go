package order

import (
	"errors"
	"strings"
)

// ErrNotFound answers any command but PlaceOrder on an order that was never placed.
var ErrNotFound = errors.New("order not found")

// ConflictError says that a well-formed command cannot be applied to the order in the
// state it is in. Code is stable and machine-readable; Message is for people.
type ConflictError struct {
	Code    string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// The conflicts the decider returns; match them with errors.Is.
var (
	ErrAlreadyPlaced = &ConflictError{Code: "order_already_placed", Message: "an order with this id has already been placed"}
	ErrNotPending    = &ConflictError{Code: "order_not_pending", Message: "lines can only be added while the order is pending"}
	ErrNoLines       = &ConflictError{Code: "order_has_no_lines", Message: "an order needs at least one line to be confirmed"}
	ErrCancelled     = &ConflictError{Code: "order_cancelled", Message: "the order has been cancelled"}
	ErrTotalTooLarge = &ConflictError{Code: "order_total_too_large", Message: "the line would make the order total too large to represent"}
)

// FieldError names one field of a command and what is wrong with it. Field uses the
// snake_case name that the command's fields have on the wire.
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

// validation collects field errors; err returns nil when there are none.
type validation []FieldError

func (v *validation) add(field, message string) { *v = append(*v, FieldError{field, message}) }

func (v validation) err() error {
	if len(v) == 0 {
		return nil
	}
	return &ValidationError{Fields: v}
}
