package order

import "slices"

// Evolve returns the state after one event. It never writes into the Lines backing array
// of the state it was given, so states handed out earlier (to a cache, another goroutine)
// stay as they were.
func Evolve(s State, e Event) State {
	s.Lines = slices.Clip(s.Lines) // the next append must copy
	apply(&s, e)
	return s
}

// Fold applies events in order. It copies the lines once and then appends in place, so a
// stream of n events folds in O(n), not O(n^2) as n calls to Evolve would.
func Fold(s State, events ...Event) State {
	if len(events) == 0 {
		return s
	}
	s.Lines = slices.Clone(s.Lines)
	for _, e := range events {
		apply(&s, e)
	}
	return s
}

func apply(s *State, e Event) {
	switch e := e.(type) {
	case OrderPlaced:
		s.ID = e.OrderID
		s.CustomerID = e.CustomerID
		s.Currency = e.Currency
		s.Contact = e.Contact
		s.Status = StatusPending
		s.PlacedAt = e.PlacedAt
		s.UpdatedAt = e.PlacedAt
	case OrderLineAdded:
		s.Lines = append(s.Lines, Line{SKU: e.SKU, Quantity: e.Quantity, UnitPriceCents: e.UnitPriceCents})
		s.UnitCount += e.Quantity
		s.TotalCents += int64(e.Quantity) * e.UnitPriceCents
		s.UpdatedAt = e.AddedAt
	case OrderConfirmed:
		s.Status = StatusConfirmed
		s.UpdatedAt = e.ConfirmedAt
	case OrderCancelled:
		s.Status = StatusCancelled
		s.UpdatedAt = e.CancelledAt
	}
}
