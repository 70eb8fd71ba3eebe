package kittest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/example/orders/domain/kit"
)

// Moves describes an aggregate's lifecycle for Walk: how to draw a random command (at
// a time), the status of a state, and the status changes allowed, as {from, to}.
type Moves[C, S any, St comparable] struct {
	Draw    func(t *rapid.T, at time.Time) C
	Status  func(S) St
	Allowed map[[2]St]bool
}

// Walk decides random sequences of commands from the initial state and checks what
// every decider owes beyond its cases: Decide leaves the state it is given unchanged,
// every error is one of the kit's kinds and comes with no events, a no-op changes
// nothing, and the status moves only along m.Allowed.
func Walk[C, E, S any, St comparable](t *testing.T, d kit.Decider[C, E, S], m Moves[C, S, St]) {
	t.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rapid.Check(t, func(t *rapid.T) {
		var history []E
		s := d.Initial
		for step := range rapid.IntRange(0, 30).Draw(t, "steps") {
			cmd := m.Draw(t, start.Add(time.Duration(step)*time.Second))
			events, err := d.Decide(s, cmd)
			if before := d.Fold(d.Initial, history...); !reflect.DeepEqual(s, before) { // an independent copy
				t.Fatalf("step %d: Decide(%T) changed its state", step, cmd)
			}
			var ve *kit.ValidationError
			var ce *kit.ConflictError
			switch {
			case err == nil:
			case errors.As(err, &ve), errors.Is(err, kit.ErrNotFound), errors.As(err, &ce):
				if len(events) > 0 {
					t.Fatalf("step %d: %T gave events with an error", step, cmd)
				}
				continue
			default:
				t.Fatalf("step %d: %T -> untyped error %v", step, cmd, err)
			}
			next := d.Fold(s, events...)
			from, to := m.Status(s), m.Status(next)
			if from != to && !m.Allowed[[2]St{from, to}] {
				t.Fatalf("step %d: %T moved the status from %v to %v", step, cmd, from, to)
			}
			if len(events) == 0 && !reflect.DeepEqual(next, s) {
				t.Fatalf("step %d: a no-op %T changed the state", step, cmd)
			}
			history, s = append(history, events...), next
		}
	})
}
