package order_test

import (
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/example/orders/domain/order"
)

func TestInitialIsTheZeroState(t *testing.T) {
	s := order.Initial()
	if !reflect.DeepEqual(s, order.State{}) {
		t.Errorf("Initial() = %+v, want the zero State", s)
	}
	if s.Exists() || s.Status != order.StatusNone {
		t.Errorf("Initial() exists (status %q)", s.Status)
	}
}

func TestEvolveLifeCycle(t *testing.T) {
	steps := []struct {
		name  string
		event order.Event
		want  order.State
	}{
		{
			name: "placed",
			event: order.OrderPlaced{
				OrderID: orderID, CustomerID: "cust-1", Currency: "EUR", PlacedAt: at(0),
			},
			want: order.State{
				ID: orderID, CustomerID: "cust-1", Currency: "EUR", Status: order.StatusPending,
				PlacedAt: at(0), UpdatedAt: at(0),
			},
		},
		{
			name:  "first line",
			event: order.OrderLineAdded{SKU: "A", Quantity: 2, UnitPriceCents: 150, AddedAt: at(1)},
			want: order.State{
				ID: orderID, CustomerID: "cust-1", Currency: "EUR", Status: order.StatusPending,
				Lines:      []order.Line{{SKU: "A", Quantity: 2, UnitPriceCents: 150}},
				TotalCents: 300, UnitCount: 2,
				PlacedAt: at(0), UpdatedAt: at(1),
			},
		},
		{
			name:  "second line, same SKU again",
			event: order.OrderLineAdded{SKU: "A", Quantity: 1, UnitPriceCents: 99, AddedAt: at(2)},
			want: order.State{
				ID: orderID, CustomerID: "cust-1", Currency: "EUR", Status: order.StatusPending,
				Lines: []order.Line{
					{SKU: "A", Quantity: 2, UnitPriceCents: 150},
					{SKU: "A", Quantity: 1, UnitPriceCents: 99},
				},
				TotalCents: 399, UnitCount: 3,
				PlacedAt: at(0), UpdatedAt: at(2),
			},
		},
		{
			name:  "free line",
			event: order.OrderLineAdded{SKU: "GIFT", Quantity: 4, UnitPriceCents: 0, AddedAt: at(3)},
			want: order.State{
				ID: orderID, CustomerID: "cust-1", Currency: "EUR", Status: order.StatusPending,
				Lines: []order.Line{
					{SKU: "A", Quantity: 2, UnitPriceCents: 150},
					{SKU: "A", Quantity: 1, UnitPriceCents: 99},
					{SKU: "GIFT", Quantity: 4, UnitPriceCents: 0},
				},
				TotalCents: 399, UnitCount: 7,
				PlacedAt: at(0), UpdatedAt: at(3),
			},
		},
		{
			name:  "confirmed",
			event: order.OrderConfirmed{ConfirmedAt: at(4)},
			want: order.State{
				ID: orderID, CustomerID: "cust-1", Currency: "EUR", Status: order.StatusConfirmed,
				Lines: []order.Line{
					{SKU: "A", Quantity: 2, UnitPriceCents: 150},
					{SKU: "A", Quantity: 1, UnitPriceCents: 99},
					{SKU: "GIFT", Quantity: 4, UnitPriceCents: 0},
				},
				TotalCents: 399, UnitCount: 7,
				PlacedAt: at(0), UpdatedAt: at(4),
			},
		},
		{
			name:  "cancelled",
			event: order.OrderCancelled{Reason: "late", CancelledAt: at(5)},
			want: order.State{
				ID: orderID, CustomerID: "cust-1", Currency: "EUR", Status: order.StatusCancelled,
				Lines: []order.Line{
					{SKU: "A", Quantity: 2, UnitPriceCents: 150},
					{SKU: "A", Quantity: 1, UnitPriceCents: 99},
					{SKU: "GIFT", Quantity: 4, UnitPriceCents: 0},
				},
				TotalCents: 399, UnitCount: 7,
				PlacedAt: at(0), UpdatedAt: at(5),
			},
		},
	}

	evolved := order.Initial()
	var history []order.Event
	for _, step := range steps {
		evolved = order.Evolve(evolved, step.event)
		history = append(history, step.event)
		if !reflect.DeepEqual(evolved, step.want) {
			t.Errorf("after %s, Evolve:\n got %+v\nwant %+v", step.name, evolved, step.want)
		}
		if !evolved.Exists() {
			t.Errorf("after %s, Exists() = false", step.name)
		}
		folded := order.Fold(order.Initial(), history...)
		if !reflect.DeepEqual(folded, step.want) {
			t.Errorf("after %s, Fold:\n got %+v\nwant %+v", step.name, folded, step.want)
		}
	}
}

func TestFoldOfNoEventsReturnsTheState(t *testing.T) {
	s := order.Fold(order.Initial(), placed(), lineAdded("A", 1, 1))
	if got := order.Fold(s); !reflect.DeepEqual(got, s) {
		t.Errorf("Fold(s) = %+v, want %+v", got, s)
	}
	if got := order.Fold(order.Initial()); !reflect.DeepEqual(got, order.Initial()) {
		t.Errorf("Fold(Initial()) = %+v, want Initial()", got)
	}
}

func TestFoldEqualsRepeatedEvolve(t *testing.T) {
	events := []order.Event{
		placed(),
		lineAdded("A", 2, 150),
		lineAdded("B", 1, 99),
		lineAdded("A", 3, 0),
		confirmed(),
		cancelled(),
	}
	// Every split of the history into a base and two further events, and every longer tail.
	for i := 0; i <= len(events); i++ {
		base := order.Fold(order.Initial(), events[:i]...)
		for j := i; j <= len(events); j++ {
			tail := events[i:j]
			want := base
			for _, e := range tail {
				want = order.Evolve(want, e)
			}
			got := order.Fold(base, tail...)
			if !statesEqual(got, want) {
				t.Errorf("Fold(base[:%d], events[%d:%d]...):\n got %+v\nwant %+v", i, i, j, got, want)
			}
		}
		if i+2 <= len(events) {
			a, b := events[i], events[i+1]
			if got, want := order.Fold(base, a, b), order.Evolve(order.Evolve(base, a), b); !reflect.DeepEqual(got, want) {
				t.Errorf("Fold(s, a, b) != Evolve(Evolve(s, a), b) at %d:\n got %+v\nwant %+v", i, got, want)
			}
		}
	}
}

// statesEqual compares states treating nil and empty Lines as equal.
func statesEqual(a, b order.State) bool {
	if len(a.Lines) == 0 && len(b.Lines) == 0 {
		a.Lines, b.Lines = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// baseStates returns pending states with three lines, each built a different way, whose
// Lines slices (at least in the explicit case) have room to grow in place, so that an
// Evolve or Fold that appended into them would overwrite memory another state can see.
func baseStates(t *testing.T) map[string]order.State {
	t.Helper()
	folded := order.Fold(order.Initial(), placed(), lineAdded("L1", 1, 10), lineAdded("L2", 2, 20), lineAdded("L3", 3, 30))
	if cap(folded.Lines) <= len(folded.Lines) {
		t.Logf("note: Fold left no spare capacity (len %d, cap %d)", len(folded.Lines), cap(folded.Lines))
	}
	explicit := folded
	explicit.Lines = make([]order.Line, len(folded.Lines), 16)
	copy(explicit.Lines, folded.Lines)
	return map[string]order.State{
		"built by Fold":             folded,
		"with explicit spare space": explicit,
		"from Evolve after a line":  order.Evolve(order.Fold(order.Initial(), placed(), lineAdded("L1", 1, 10), lineAdded("L2", 2, 20)), lineAdded("L3", 3, 30)),
	}
}

// snapshot copies the whole backing array of s.Lines, up to its capacity.
func snapshot(s order.State) (order.State, []order.Line) {
	return cloneState(s), slices.Clone(s.Lines[:cap(s.Lines)])
}

func checkUnchanged(t *testing.T, base, before order.State, backing []order.Line) {
	t.Helper()
	if !reflect.DeepEqual(base, before) {
		t.Errorf("base state changed:\n got %+v\nwant %+v", base, before)
	}
	if got := base.Lines[:cap(base.Lines)]; !slices.Equal(got, backing) {
		t.Errorf("base Lines backing array was written to:\n got %+v\nwant %+v", got, backing)
	}
}

func lastLine(s order.State) order.Line {
	if len(s.Lines) == 0 {
		return order.Line{}
	}
	return s.Lines[len(s.Lines)-1]
}

func TestEvolveDoesNotShareAppendsBetweenStates(t *testing.T) {
	lineA := order.OrderLineAdded{SKU: "A", Quantity: 7, UnitPriceCents: 70, AddedAt: at(9)}
	lineB := order.OrderLineAdded{SKU: "B", Quantity: 8, UnitPriceCents: 80, AddedAt: at(9)}
	for name, base := range baseStates(t) {
		t.Run(name, func(t *testing.T) {
			before, backing := snapshot(base)
			n := len(base.Lines)

			s1 := order.Evolve(base, lineA)
			s2 := order.Evolve(base, lineB)

			if len(s1.Lines) != n+1 || lastLine(s1) != (order.Line{SKU: "A", Quantity: 7, UnitPriceCents: 70}) {
				t.Errorf("s1 lines = %+v, want the base lines then A", s1.Lines)
			}
			if len(s2.Lines) != n+1 || lastLine(s2) != (order.Line{SKU: "B", Quantity: 8, UnitPriceCents: 80}) {
				t.Errorf("s2 lines = %+v, want the base lines then B", s2.Lines)
			}
			if !slices.Equal(s1.Lines[:n], before.Lines) || !slices.Equal(s2.Lines[:n], before.Lines) {
				t.Errorf("derived states lost the base lines: s1 %+v, s2 %+v", s1.Lines, s2.Lines)
			}
			if s1.TotalCents != before.TotalCents+490 || s2.TotalCents != before.TotalCents+640 {
				t.Errorf("totals: s1 %d, s2 %d, base %d", s1.TotalCents, s2.TotalCents, before.TotalCents)
			}
			checkUnchanged(t, base, before, backing)

			// A state derived by a non-line event, then extended, must not reach back either.
			s3 := order.Evolve(order.Evolve(base, confirmed()), lineA)
			if lastLine(s3) != (order.Line{SKU: "A", Quantity: 7, UnitPriceCents: 70}) {
				t.Errorf("s3 last line = %+v", lastLine(s3))
			}
			if lastLine(s2) != (order.Line{SKU: "B", Quantity: 8, UnitPriceCents: 80}) {
				t.Errorf("s2 was changed by a later Evolve: %+v", s2.Lines)
			}
			checkUnchanged(t, base, before, backing)

			// Extending s1 twice must not make its two children share either.
			c1 := order.Evolve(s1, lineB)
			c2 := order.Evolve(s1, lineA)
			if lastLine(c1).SKU != "B" || lastLine(c2).SKU != "A" || lastLine(s1).SKU != "A" || len(s1.Lines) != n+1 {
				t.Errorf("children of s1 share lines: c1 %+v, c2 %+v, s1 %+v", c1.Lines, c2.Lines, s1.Lines)
			}
		})
	}
}

func TestFoldDoesNotShareAppendsBetweenStates(t *testing.T) {
	lineA := order.OrderLineAdded{SKU: "A", Quantity: 7, UnitPriceCents: 70, AddedAt: at(9)}
	lineB := order.OrderLineAdded{SKU: "B", Quantity: 8, UnitPriceCents: 80, AddedAt: at(9)}
	lineC := order.OrderLineAdded{SKU: "C", Quantity: 9, UnitPriceCents: 90, AddedAt: at(9)}
	for name, base := range baseStates(t) {
		t.Run(name, func(t *testing.T) {
			before, backing := snapshot(base)
			n := len(base.Lines)

			s1 := order.Fold(base, lineA, lineC)
			s2 := order.Fold(base, lineB)
			s3 := order.Fold(base, confirmed())

			if len(s1.Lines) != n+2 || s1.Lines[n].SKU != "A" || s1.Lines[n+1].SKU != "C" {
				t.Errorf("s1 lines = %+v, want the base lines then A, C", s1.Lines)
			}
			if len(s2.Lines) != n+1 || lastLine(s2).SKU != "B" {
				t.Errorf("s2 lines = %+v, want the base lines then B", s2.Lines)
			}
			if !slices.Equal(s3.Lines, before.Lines) {
				t.Errorf("s3 lines = %+v, want the base lines", s3.Lines)
			}
			checkUnchanged(t, base, before, backing)

			// Extending a folded state (which may have spare capacity) twice.
			c1 := order.Fold(s1, lineB)
			c2 := order.Evolve(s1, lineA)
			c3 := order.Fold(s1, lineC, lineC)
			if lastLine(c1).SKU != "B" || lastLine(c2).SKU != "A" || len(c3.Lines) != n+4 || len(s1.Lines) != n+2 || lastLine(s1).SKU != "C" {
				t.Errorf("children of s1 share lines: c1 %+v, c2 %+v, c3 %+v, s1 %+v", c1.Lines, c2.Lines, c3.Lines, s1.Lines)
			}
		})
	}
}

// TestEvolveFromSharedBaseConcurrently lets the race detector see any write into the
// base state's backing array.
func TestEvolveFromSharedBaseConcurrently(t *testing.T) {
	base := order.Fold(order.Initial(), placed(), lineAdded("L1", 1, 10), lineAdded("L2", 2, 20), lineAdded("L3", 3, 30))
	before, backing := snapshot(base)
	var wg sync.WaitGroup
	results := make([]order.State, 16)
	for i := range results {
		wg.Go(func() {
			e := order.OrderLineAdded{SKU: string(rune('a' + i)), Quantity: i + 1, UnitPriceCents: 1, AddedAt: at(i)} //nolint:gosec // i < 16
			if i%2 == 0 {
				results[i] = order.Evolve(base, e)
			} else {
				results[i] = order.Fold(base, e, e)
			}
		})
	}
	wg.Wait()
	for i, s := range results {
		if got, want := lastLine(s).SKU, string(rune('a'+i)); got != want {
			t.Errorf("result %d: last SKU = %q, want %q", i, got, want)
		}
	}
	checkUnchanged(t, base, before, backing)
}
