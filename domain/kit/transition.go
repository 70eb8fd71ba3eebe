package kit

import "slices"

// Transition is the rule of a command that moves an aggregate to status To, the
// lifecycle step most commands are: before the aggregate exists (the zero status) the
// command is NotFound; at To already it is a repeat that decides nothing when
// Repeatable; from one of From (from any other status when From is empty) it decides
// its event; from any other status it is Conflict. Validation of the command comes
// before, and rules of the state beyond its status after.
type Transition[St comparable, E any] struct {
	From       []St
	To         St
	Repeatable bool
	NotFound   error
	Conflict   error
}

// Decide applies the rule to an aggregate in status current: event when it moves.
func (t Transition[St, E]) Decide(current St, event E) ([]E, error) {
	var none St
	switch {
	case current == none:
		return nil, t.NotFound
	case current == t.To && t.Repeatable:
		return nil, nil
	case current != t.To && (len(t.From) == 0 || slices.Contains(t.From, current)):
		return []E{event}, nil
	}
	return nil, t.Conflict
}
