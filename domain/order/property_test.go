package order_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/example/orders/domain/order"
)

// Generators.

var genOrderID = rapid.Custom(func(t *rapid.T) uuid.UUID {
	b := rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "order_id_bytes")
	id, err := uuid.FromBytes(b)
	if err != nil {
		t.Fatalf("uuid.FromBytes: %v", err)
	}
	return id
}).Filter(func(id uuid.UUID) bool { return id != uuid.Nil })

// genText mixes short random strings built from a small alphabet with, less often, a few
// hand-picked values (valid, boundary and invalid) and arbitrary runes. rapid favours
// small numbers (and shrinks towards them), so the "source" switches below put the
// common, mostly valid case at the low end.
func genText(label string, picks []string, alphabet string) *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		switch rapid.IntRange(0, 19).Draw(t, label+"_source") {
		case 17, 18:
			return rapid.SampledFrom(picks).Draw(t, label+"_pick")
		case 19:
			return rapid.StringN(0, 6, -1).Draw(t, label+"_any")
		default:
			return rapid.StringOfN(rapid.RuneFrom([]rune(alphabet)), 1, 5, -1).Draw(t, label+"_short")
		}
	})
}

var (
	genCustomerID = genText("customer_id", []string{
		"cust-1", "", "   ", "\t", strings.Repeat("c", 64), strings.Repeat("c", 65),
		strings.Repeat("é", 64), strings.Repeat("é", 65), "bad\xff", "nul\x00", "new\nline",
	}, "abcXYZ019-_ é")
	genCurrency = rapid.Custom(func(t *rapid.T) string {
		switch rapid.IntRange(0, 19).Draw(t, "currency_source") {
		case 17, 18:
			return rapid.SampledFrom([]string{"EUR", "eur", "EU", "EURO", "E1R", "", "@UR", "EU[", "ÉUR"}).Draw(t, "currency_pick")
		case 19:
			return rapid.StringN(0, 4, -1).Draw(t, "currency_any")
		default:
			return rapid.StringMatching(`[A-Z]{3}`).Draw(t, "currency")
		}
	})
	genSKU = genText("sku", []string{
		"SKU-1", "", "   ", strings.Repeat("S", 64), strings.Repeat("S", 65),
		strings.Repeat("ß", 64), "bad\xc3", "nul\x00",
	}, "AB-1 ß")
	genReason = genText("reason", []string{
		"", "   ", "changed my mind", "line one\nline two\ttab\r", strings.Repeat("r", 500),
		strings.Repeat("r", 501), strings.Repeat("ø", 500), "nul\x00", "esc\x1b", "bad\xff",
	}, "ab \n\t\rø")
)

func genQuantity(t *rapid.T) int {
	switch rapid.IntRange(0, 19).Draw(t, "quantity_source") {
	case 17, 18:
		return rapid.IntRange(-5, 1100).Draw(t, "quantity_any")
	case 19:
		return rapid.SampledFrom([]int{0, 1, 1000, 1001}).Draw(t, "quantity_edge")
	default:
		return rapid.IntRange(order.MinQuantity, order.MaxQuantity).Draw(t, "quantity")
	}
}

func genUnitPrice(t *rapid.T) int64 {
	switch rapid.IntRange(0, 19).Draw(t, "price_source") {
	case 17, 18:
		return rapid.Int64Range(-10, order.MaxUnitPriceCents+10).Draw(t, "price_any")
	case 19:
		return rapid.SampledFrom([]int64{-1, 0, order.MaxUnitPriceCents, order.MaxUnitPriceCents + 1}).Draw(t, "price_edge")
	default:
		return rapid.Int64Range(0, order.MaxUnitPriceCents).Draw(t, "price")
	}
}

// commandMix weighs the four kinds of command for one run, so that some runs stay
// pending for long and others cancel early.
type commandMix struct{ place, add, confirm, cancel int }

func drawMix(t *rapid.T) commandMix {
	return commandMix{
		place:   rapid.IntRange(1, 4).Draw(t, "weight_place"),
		add:     rapid.IntRange(1, 12).Draw(t, "weight_add"),
		confirm: rapid.IntRange(0, 4).Draw(t, "weight_confirm"),
		cancel:  rapid.IntRange(0, 3).Draw(t, "weight_cancel"),
	}
}

func drawCommand(t *rapid.T, mix commandMix, id uuid.UUID, when time.Time) order.Command {
	r := rapid.IntRange(0, mix.place+mix.add+mix.confirm+mix.cancel-1).Draw(t, "kind")
	switch {
	case r < mix.add:
		return order.AddLine{SKU: genSKU.Draw(t, "sku"), Quantity: genQuantity(t), UnitPriceCents: genUnitPrice(t), At: when}
	case r < mix.add+mix.place:
		placeID := id
		switch rapid.IntRange(0, 9).Draw(t, "place_id_source") {
		case 8:
			placeID = uuid.Nil
		case 9:
			placeID = otherOrderID
		}
		return order.PlaceOrder{
			OrderID:    placeID,
			CustomerID: genCustomerID.Draw(t, "customer_id"),
			Currency:   genCurrency.Draw(t, "currency"),
			At:         when,
		}
	case r < mix.add+mix.place+mix.confirm:
		return order.Confirm{At: when}
	default:
		return order.Cancel{Reason: genReason.Draw(t, "reason"), At: when}
	}
}

// A reference model of the rules, written from the specification rather than the code.

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

func textIsInvalid(s string, maxChars int, freeText bool) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxChars {
		return true
	}
	if !freeText && strings.TrimSpace(s) == "" {
		return true
	}
	for _, r := range s {
		if unicode.IsControl(r) && (!freeText || r != '\n' && r != '\t' && r != '\r') {
			return true
		}
	}
	return false
}

// expect returns what Decide should do: the events, or the error (errors.Is), or the
// invalid fields in order. No events, no error and no fields is a no-op.
func expect(s order.State, c order.Command) (events []order.Event, fields []string, err error) {
	switch c := c.(type) {
	case order.PlaceOrder:
		if c.OrderID == uuid.Nil {
			fields = append(fields, "id")
		}
		if textIsInvalid(c.CustomerID, 64, false) {
			fields = append(fields, "customer_id")
		}
		if !currencyPattern.MatchString(c.Currency) {
			fields = append(fields, "currency")
		}
		switch {
		case fields != nil:
			return nil, fields, nil
		case s.Status != order.StatusNone:
			return nil, nil, order.ErrAlreadyPlaced
		}
		return []order.Event{order.OrderPlaced{OrderID: c.OrderID, CustomerID: c.CustomerID, Currency: c.Currency, PlacedAt: c.At}}, nil, nil
	case order.AddLine:
		if textIsInvalid(c.SKU, 64, false) {
			fields = append(fields, "sku")
		}
		if c.Quantity < 1 || c.Quantity > 1000 {
			fields = append(fields, "quantity")
		}
		if c.UnitPriceCents < 0 || c.UnitPriceCents > 100_000_000 {
			fields = append(fields, "unit_price_cents")
		}
		switch {
		case fields != nil:
			return nil, fields, nil
		case s.Status == order.StatusNone:
			return nil, nil, order.ErrNotFound
		case s.Status != order.StatusPending:
			return nil, nil, order.ErrNotPending
		case len(s.Lines) >= order.MaxLines:
			return nil, nil, order.ErrTooManyLines
		}
		// Generated totals stay far below the overflow limits.
		return []order.Event{order.OrderLineAdded{SKU: c.SKU, Quantity: c.Quantity, UnitPriceCents: c.UnitPriceCents, AddedAt: c.At}}, nil, nil
	case order.Confirm:
		switch {
		case s.Status == order.StatusNone:
			return nil, nil, order.ErrNotFound
		case s.Status == order.StatusConfirmed:
			return nil, nil, nil
		case s.Status == order.StatusCancelled:
			return nil, nil, order.ErrCancelled
		case len(s.Lines) == 0:
			return nil, nil, order.ErrNoLines
		}
		return []order.Event{order.OrderConfirmed{ConfirmedAt: c.At}}, nil, nil
	case order.Cancel:
		switch {
		case textIsInvalid(c.Reason, 500, true):
			return nil, []string{"reason"}, nil
		case s.Status == order.StatusNone:
			return nil, nil, order.ErrNotFound
		case s.Status == order.StatusCancelled:
			return nil, nil, nil
		}
		return []order.Event{order.OrderCancelled{Reason: c.Reason, CancelledAt: c.At}}, nil, nil
	}
	panic(fmt.Sprintf("unexpected command %T", c))
}

var allowedTransitions = map[[2]order.Status]bool{
	{order.StatusNone, order.StatusPending}:        true,
	{order.StatusPending, order.StatusConfirmed}:   true,
	{order.StatusPending, order.StatusCancelled}:   true,
	{order.StatusConfirmed, order.StatusCancelled}: true,
}

var knownConflicts = []error{order.ErrAlreadyPlaced, order.ErrNotPending, order.ErrNoLines, order.ErrCancelled, order.ErrTotalTooLarge, order.ErrTooManyLines}

// classify names the outcome of one Decide call and fails unless the error is one of the
// kinds the decider promises.
func classify(t *rapid.T, events []order.Event, err error) string {
	var ve *order.ValidationError
	var ce *order.ConflictError
	switch {
	case err == nil && len(events) == 0:
		return "no-op"
	case err == nil:
		return fmt.Sprintf("%T", events[0])
	case errors.As(err, &ve):
		if len(ve.Fields) == 0 {
			t.Fatalf("ValidationError without fields: %v", err)
		}
		return "validation"
	case errors.Is(err, order.ErrNotFound):
		return "not found"
	case errors.As(err, &ce):
		if !slices.ContainsFunc(knownConflicts, func(k error) bool { return errors.Is(err, k) }) {
			t.Fatalf("unknown ConflictError %q: %v", ce.Code, err)
		}
		return "conflict " + ce.Code
	default:
		t.Fatalf("error %v (%T) is neither a ValidationError, ErrNotFound nor a ConflictError", err, err)
		return ""
	}
}

func eventTime(e order.Event) time.Time {
	switch e := e.(type) {
	case order.OrderPlaced:
		return e.PlacedAt
	case order.OrderLineAdded:
		return e.AddedAt
	case order.OrderConfirmed:
		return e.ConfirmedAt
	case order.OrderCancelled:
		return e.CancelledAt
	}
	return time.Time{}
}

func checkInvariants(t *rapid.T, s order.State, all []order.Event) {
	var total int64
	units := 0
	for _, l := range s.Lines {
		total += int64(l.Quantity) * l.UnitPriceCents
		units += l.Quantity
	}
	if s.TotalCents != total {
		t.Fatalf("TotalCents = %d, sum over lines = %d", s.TotalCents, total)
	}
	if s.UnitCount != units {
		t.Fatalf("UnitCount = %d, sum of quantities = %d", s.UnitCount, units)
	}
	added, placedEvents := 0, 0
	for _, e := range all {
		switch e.(type) {
		case order.OrderLineAdded:
			added++
		case order.OrderPlaced:
			placedEvents++
		}
	}
	if len(s.Lines) != added {
		t.Fatalf("len(Lines) = %d, OrderLineAdded events = %d", len(s.Lines), added)
	}
	if s.Exists() != (s.Status != order.StatusNone) {
		t.Fatalf("Exists() = %v with status %q", s.Exists(), s.Status)
	}
	if len(all) == 0 {
		if !statesEqual(s, order.Initial()) {
			t.Fatalf("state without events = %+v, want Initial()", s)
		}
		return
	}
	if _, ok := all[0].(order.OrderPlaced); !ok || placedEvents != 1 {
		t.Fatalf("stream must start with the only OrderPlaced: %#v", all)
	}
	if s.PlacedAt != eventTime(all[0]) || s.UpdatedAt != eventTime(all[len(all)-1]) {
		t.Fatalf("PlacedAt %v / UpdatedAt %v do not match the first / last event", s.PlacedAt, s.UpdatedAt)
	}
	if folded := order.Fold(order.Initial(), all...); !statesEqual(folded, s) {
		t.Fatalf("Fold(Initial(), all...) differs from the step-by-step state:\n fold %+v\n step %+v", folded, s)
	}
}

func TestPropertyDecideAndFoldKeepInvariants(t *testing.T) {
	outcomes := map[string]int{}
	runs := 0
	rapid.Check(t, func(t *rapid.T) {
		runs++
		id := genOrderID.Draw(t, "order_id")
		mix := drawMix(t)
		n := rapid.IntRange(0, 60).Draw(t, "steps")

		state := order.Initial()
		var all []order.Event
		for step := range n {
			cmd := drawCommand(t, mix, id, t0.Add(time.Duration(step)*time.Second))
			prev := cloneState(state)

			events, err := order.Decide(state, cmd)

			if !statesEqual(state, prev) {
				t.Fatalf("step %d: Decide changed its input state", step)
			}
			outcome := classify(t, events, err)
			outcomes[fmt.Sprintf("%T -> %s", cmd, outcome)]++
			if err != nil && len(events) != 0 {
				t.Fatalf("step %d: %T returned events %#v with error %v", step, cmd, events, err)
			}

			// The reference model.
			wantEvents, wantFields, wantErr := expect(prev, cmd)
			switch {
			case wantFields != nil:
				var ve *order.ValidationError
				if !errors.As(err, &ve) || !slices.Equal(fieldNames(ve), wantFields) {
					t.Fatalf("step %d: %#v on %q: err = %v, want invalid fields %q", step, cmd, prev.Status, err, wantFields)
				}
			case wantErr != nil:
				if !errors.Is(err, wantErr) {
					t.Fatalf("step %d: %#v on %q: err = %v, want %v", step, cmd, prev.Status, err, wantErr)
				}
			default:
				if err != nil || !eventsEqual(events, wantEvents) {
					t.Fatalf("step %d: %#v on %q: got %#v, %v; want %#v", step, cmd, prev.Status, events, err, wantEvents)
				}
			}

			if err == nil {
				next := order.Fold(state, events...)
				evolved := state
				for _, e := range events {
					evolved = order.Evolve(evolved, e)
				}
				if !statesEqual(next, evolved) {
					t.Fatalf("step %d: Fold and Evolve disagree:\n fold   %+v\n evolve %+v", step, next, evolved)
				}
				state = next
				all = append(all, events...)
			}

			if prev.Status != state.Status && !allowedTransitions[[2]order.Status{prev.Status, state.Status}] {
				t.Fatalf("step %d: %T moved the order from %q to %q", step, cmd, prev.Status, state.Status)
			}
			if prev.Status == order.StatusCancelled && (len(events) != 0 || !statesEqual(state, prev)) {
				t.Fatalf("step %d: %T changed a cancelled order: %#v", step, cmd, events)
			}
			checkInvariants(t, state, all)
		}
	})
	keys := make([]string, 0, len(outcomes))
	for k := range outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %6d  %s", outcomes[k], k)
	}
	t.Logf("%d runs; outcomes:%s", runs, b.String())
}

var genValidReason = rapid.StringOfN(
	rapid.RuneFrom([]rune{'\n', '\t', '\r'}, unicode.L, unicode.N, unicode.P, unicode.Zs, unicode.S),
	0, order.MaxReasonLength, -1,
)

func TestPropertyNoOpCommands(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		id := genOrderID.Draw(t, "order_id")
		history := []order.Event{order.OrderPlaced{OrderID: id, CustomerID: "cust", Currency: "EUR", PlacedAt: t0}}
		for i := range rapid.IntRange(0, 10).Draw(t, "lines") {
			history = append(history, order.OrderLineAdded{
				SKU:            fmt.Sprintf("SKU-%d", i),
				Quantity:       rapid.IntRange(order.MinQuantity, order.MaxQuantity).Draw(t, "quantity"),
				UnitPriceCents: rapid.Int64Range(0, order.MaxUnitPriceCents).Draw(t, "price"),
				AddedAt:        t0.Add(time.Duration(i+1) * time.Minute),
			})
		}
		path := rapid.SampledFrom([]string{"confirmed", "cancelled from pending", "cancelled after confirming"}).Draw(t, "path")
		if path != "cancelled from pending" {
			if len(history) == 1 {
				history = append(history, lineAdded("ONE", 1, 1))
			}
			history = append(history, order.OrderConfirmed{ConfirmedAt: t0.Add(time.Hour)})
		}
		if path != "confirmed" {
			history = append(history, order.OrderCancelled{Reason: "first", CancelledAt: t0.Add(2 * time.Hour)})
		}
		state := order.Fold(order.Initial(), history...)
		before := cloneState(state)

		for i := range rapid.IntRange(1, 5).Draw(t, "repeats") {
			when := t0.Add(time.Duration(rapid.Int64().Draw(t, "offset")))
			var cmd order.Command = order.Confirm{At: when}
			if state.Status == order.StatusCancelled {
				cmd = order.Cancel{Reason: genValidReason.Draw(t, "reason"), At: when}
			}
			events, err := order.Decide(state, cmd)
			if err != nil || len(events) != 0 {
				t.Fatalf("repeat %d: %#v on a %s order: got %#v, %v; want no events and no error", i, cmd, path, events, err)
			}
			// Folding the (empty) result changes nothing.
			state = order.Fold(state, events...)
			if !statesEqual(state, before) {
				t.Fatalf("repeat %d: state changed by a no-op", i)
			}
		}
	})
}
