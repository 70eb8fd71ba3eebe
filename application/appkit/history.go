package appkit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// EventRange narrows an EventReader: versions From to To (From 0 or 1: from the start;
// To 0: to the end), recorded at or before Until (nil: no bound).
type EventRange struct {
	From, To int64
	Until    *time.Time
}

// EventReader reads one aggregate's events in version order, within a range; an
// unknown stream gives no events. The queries ports of every aggregate have one
// (OwnedReads.Events).
type EventReader[E any] func(ctx context.Context, id uuid.UUID, r EventRange) ([]RecordedEvent[E], error)

// Page sizes of an aggregate's history (GET /orders/{id}/events and the like): a
// response holds at most MaxHistoryPage events, however long the stream.
const (
	DefaultHistoryPage = 100
	MaxHistoryPage     = 1000
)

// HistoryQuery asks for a page of a stream's events: at most Limit (0: the default
// page) with a version greater than After.
type HistoryQuery struct {
	ID    uuid.UUID
	After int64
	Limit int
}

// HistoryPage is a page of a stream's events in version order. NextAfter is the
// version of its last event when more events follow (pass it as After), else 0.
type HistoryPage[E any] struct {
	Items     []RecordedEvent[E]
	NextAfter int64
}

// history is a page of a stream's events, or notFound when the stream has none or the
// caller may not read it: owner names the customer of the stream from its first event,
// which is read for that even when the page starts later.
func history[E any](ctx context.Context, read EventReader[E], resource string, q HistoryQuery, notFound error, owner func(first E) string) (HistoryPage[E], error) {
	var v kit.Validation
	limit := q.Limit
	if limit == 0 {
		limit = DefaultHistoryPage
	}
	v.Range("after", q.After, 0, math.MaxInt64-MaxHistoryPage-1)
	v.Range("limit", int64(limit), 1, MaxHistoryPage)
	if err := v.Err(); err != nil {
		return HistoryPage[E]{}, fmt.Errorf("%s history %s: %w", resource, q.ID, err)
	}
	// One event more than the page tells whether another page follows.
	events, err := read(ctx, q.ID, EventRange{From: q.After + 1, To: q.After + int64(limit) + 1})
	if err != nil {
		return HistoryPage[E]{}, fmt.Errorf("%s history %s: %w", resource, q.ID, err)
	}
	first := events
	if q.After > 0 {
		if first, err = read(ctx, q.ID, EventRange{From: 1, To: 1}); err != nil {
			return HistoryPage[E]{}, fmt.Errorf("%s history %s: %w", resource, q.ID, err)
		}
	}
	if len(first) == 0 {
		return HistoryPage[E]{}, fmt.Errorf("%s history %s: %w", resource, q.ID, notFound)
	}
	if !CanReadAllEvents(ctx) && !CanSeeCustomer(ctx, owner(first[0].Event)) {
		return HistoryPage[E]{}, fmt.Errorf("%s history %s: not the caller's: %w", resource, q.ID, notFound)
	}
	page := HistoryPage[E]{Items: events}
	if len(events) > limit {
		page.Items = events[:limit]
		page.NextAfter = page.Items[limit-1].Version
	}
	return page, nil
}

// asOf is an aggregate as it was at a version or at a time (exactly one of them),
// folded from its events rather than read from the read model, so it is right for any
// past moment. version 0 and at nil mean "not given".
func asOf[C, E, S any](ctx context.Context, read EventReader[E], d kit.Decider[C, E, S], resource string, notFound error,
	id uuid.UUID, version int64, at *time.Time) (Versioned[S], error) {
	var v kit.Validation
	switch {
	case version != 0 && at != nil:
		v.Add("version", "give either version or at, not both")
	case version < 0:
		v.Add("version", "must be at least 1")
	case version == 0 && at == nil:
		v.Add("version", "give a version or a time")
	}
	if err := v.Err(); err != nil {
		return Versioned[S]{}, fmt.Errorf("%s %s as of: %w", resource, id, err)
	}
	recorded, err := read(ctx, id, EventRange{To: version, Until: at})
	if err != nil {
		return Versioned[S]{}, fmt.Errorf("%s %s as of: %w", resource, id, err)
	}
	if len(recorded) == 0 || (version != 0 && recorded[len(recorded)-1].Version < version) {
		return Versioned[S]{}, fmt.Errorf("%s %s as of version %d / time %v: %w", resource, id, version, at, notFound)
	}
	return Fold(d, recorded), nil
}

// Fold is the state d folds from recorded, one stream's events in version order, at
// the last one's version (the initial state at version 0 when there are none).
func Fold[C, E, S any](d kit.Decider[C, E, S], recorded []RecordedEvent[E]) Versioned[S] {
	events := make([]E, len(recorded))
	for i, r := range recorded {
		events[i] = r.Event
	}
	v := Versioned[S]{State: d.Fold(d.Initial, events...)}
	if len(recorded) > 0 {
		v.Version = recorded[len(recorded)-1].Version
	}
	return v
}
