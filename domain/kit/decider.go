package kit

// Decider is an aggregate as a value: Decide turns a command into events (or a typed
// error) given the current state, Evolve applies one event, and Initial is the state
// before the first event. Both functions are pure, so a decider is tested with plain
// given/when/then cases (see kittest) and run by one generic command handler.
type Decider[C, E, S any] struct {
	Decide  func(state S, command C) ([]E, error)
	Evolve  func(state S, event E) S
	Initial S
	// FoldAll, when set, applies many events faster than repeated Evolve (for example
	// by copying a slice once instead of once per event). It must give the same state.
	FoldAll func(state S, events []E) S
}

// Fold applies events to s in order.
func (d Decider[C, E, S]) Fold(s S, events ...E) S {
	if d.FoldAll != nil {
		return d.FoldAll(s, events)
	}
	for _, e := range events {
		s = d.Evolve(s, e)
	}
	return s
}
