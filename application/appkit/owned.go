package appkit

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// OwnedReads is the read side every aggregate owned by a customer shares: its read
// model by id, and its event log for history and time travel. An aggregate's queries
// port embeds it; list queries, which filter differently, stay the aggregate's own.
type OwnedReads[S, E any] interface {
	// ByID returns the aggregate's not-found error for an unknown id.
	ByID(ctx context.Context, id uuid.UUID) (Versioned[S], error)
	// Events returns the stream's events in version order, within r; an unknown
	// stream gives none.
	Events(ctx context.Context, id uuid.UUID, r EventRange) ([]RecordedEvent[E], error)
}

// Owned answers the reads of an aggregate whose instances belong to a customer:
// another customer's is answered as the aggregate's not-found error, like a missing
// one; staff see all. Each aggregate's use-case type embeds one.
type Owned[C, E, S any] struct {
	reads    OwnedReads[S, E]
	decider  kit.Decider[C, E, S]
	resource string
	notFound error
	owner    func(S) string // the customer a state belongs to
}

// NewOwned returns the owned reads of the aggregate resource, decided by decider:
// notFound is its not-found error, owner names the customer of a state.
func NewOwned[C, E, S any](resource string, reads OwnedReads[S, E], decider kit.Decider[C, E, S], notFound error, owner func(S) string) Owned[C, E, S] {
	return Owned[C, E, S]{reads: reads, decider: decider, resource: resource, notFound: notFound, owner: owner}
}

// Get answers the aggregate by id from its read model, which the command that last
// changed it updated in its own transaction.
func (o Owned[C, E, S]) Get(ctx context.Context, id uuid.UUID) (Versioned[S], error) {
	v, err := o.reads.ByID(ctx, id)
	if err != nil {
		return Versioned[S]{}, fmt.Errorf("get %s %s: %w", o.resource, id, err)
	}
	if !CanSeeCustomer(ctx, o.owner(v.State)) {
		return Versioned[S]{}, fmt.Errorf("get %s %s: not the caller's: %w", o.resource, id, o.notFound)
	}
	return v, nil
}

// AsOf answers the aggregate as it was at a version or at a time (exactly one of
// them; version 0 and at nil mean "not given"), folded from its events rather than
// read from the read model, so it is right for any past moment.
func (o Owned[C, E, S]) AsOf(ctx context.Context, id uuid.UUID, version int64, at *time.Time) (Versioned[S], error) {
	v, err := asOf(ctx, o.reads.Events, o.decider, o.resource, o.notFound, id, version, at)
	if err == nil && !CanSeeCustomer(ctx, o.owner(v.State)) {
		return Versioned[S]{}, fmt.Errorf("%s %s as of: not the caller's: %w", o.resource, id, o.notFound)
	}
	return v, err
}

// History answers a page of the aggregate's events. Its first event names the owner.
func (o Owned[C, E, S]) History(ctx context.Context, q HistoryQuery) (HistoryPage[E], error) {
	return history(ctx, o.reads.Events, o.resource, q, o.notFound, func(first E) string {
		return o.owner(o.decider.Evolve(o.decider.Initial, first))
	})
}

// List narrows a list query to what the caller may see and pages it: invalid are the
// aggregate's own filter checks, to which the limit and cursor checks are added; list
// runs the narrowed query (customer "" for all, after nil for the first page). A
// customer lists its own only: asking for another customer's gives an empty page.
func List[T any](ctx context.Context, what string, limit int, cursor, customer string, invalid []kit.FieldError,
	list func(limit int, after *PageKey, customer string) (Page[T], error)) (Page[T], error) {
	limit = checkLimit(limit, &invalid)
	after := checkCursor(cursor, &invalid)
	if len(invalid) > 0 {
		return Page[T]{}, fmt.Errorf("list %s: %w", what, &kit.ValidationError{Fields: invalid})
	}
	customer, visible, err := ownerFilter(ctx, customer)
	if err != nil {
		return Page[T]{}, fmt.Errorf("list %s: %w", what, err)
	}
	if !visible {
		return Page[T]{Items: []T{}}, nil
	}
	page, err := list(limit, after, customer)
	if err != nil {
		return Page[T]{}, fmt.Errorf("list %s: %w", what, err)
	}
	return page.withCursor(), nil
}
