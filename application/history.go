package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// EventReader reads one aggregate's events in version order, up to a version (0: no
// bound) and a time (nil: no bound); an unknown stream gives no events. The queries
// ports of every aggregate have one (OrderQueries.OrderEvents, ...).
type EventReader[E any] func(ctx context.Context, id uuid.UUID, toVersion int64, until *time.Time) ([]RecordedEvent[E], error)

// history is every event of a stream, or notFound when it has none.
func history[E any](ctx context.Context, read EventReader[E], resource string, id uuid.UUID, notFound error) ([]RecordedEvent[E], error) {
	events, err := read(ctx, id, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("%s history %s: %w", resource, id, err)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%s history %s: %w", resource, id, notFound)
	}
	return events, nil
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
	recorded, err := read(ctx, id, version, at)
	if err != nil {
		return Versioned[S]{}, fmt.Errorf("%s %s as of: %w", resource, id, err)
	}
	if len(recorded) == 0 || (version != 0 && recorded[len(recorded)-1].Version < version) {
		return Versioned[S]{}, fmt.Errorf("%s %s as of version %d / time %v: %w", resource, id, version, at, notFound)
	}
	events := make([]E, len(recorded))
	for i, r := range recorded {
		events[i] = r.Event
	}
	return Versioned[S]{State: d.Fold(d.Initial, events...), Version: recorded[len(recorded)-1].Version}, nil
}
