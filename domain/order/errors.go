package order

import (
	"fmt"

	"github.com/example/orders/domain/kit"
)

// The error kinds are the kit's, shared by every aggregate; the names below keep this
// package's callers independent of where they are defined.
type (
	FieldError      = kit.FieldError
	ValidationError = kit.ValidationError
	ConflictError   = kit.ConflictError
)

// Resource names the order in errors ("order not found", code "order_not_found").
const Resource = "order"

// ErrNotFound answers any command but PlaceOrder on an order that was never placed.
var ErrNotFound = kit.NotFound(Resource)

// The conflicts the decider returns; match them with errors.Is.
var (
	ErrAlreadyPlaced = conflict("order_already_placed", "an order with this id has already been placed")
	ErrNotPending    = conflict("order_not_pending", "lines can only be added while the order is pending")
	ErrNoLines       = conflict("order_has_no_lines", "an order needs at least one line to be confirmed")
	ErrCancelled     = conflict("order_cancelled", "the order has been cancelled")
	ErrTotalTooLarge = conflict("order_total_too_large", "the line would make the order total too large to represent")
	ErrTooManyLines  = conflict("order_too_many_lines", fmt.Sprintf("an order holds at most %d lines", MaxLines))
)

// Errors is every error the decider returns: the service checks when it starts that
// its transport answers each with a catalogued problem.
var Errors = []error{ErrNotFound, ErrAlreadyPlaced, ErrNotPending, ErrNoLines, ErrCancelled, ErrTotalTooLarge, ErrTooManyLines,
	&ValidationError{}}

func conflict(code, message string) *ConflictError {
	return &ConflictError{Resource: Resource, Code: code, Message: message}
}
