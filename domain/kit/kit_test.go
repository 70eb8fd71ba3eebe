package kit_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/example/orders/domain/kit"
)

func TestNotFoundMatchesItsResourceAndTheKind(t *testing.T) {
	order, customer := kit.NotFound("order"), kit.NotFound("customer")
	wrapped := fmt.Errorf("get: %w", order)
	if !errors.Is(wrapped, order) || !errors.Is(wrapped, kit.NotFound("order")) || !errors.Is(wrapped, kit.ErrNotFound) {
		t.Fatal("an order's not-found must match itself, another order not-found and the kind")
	}
	if errors.Is(wrapped, customer) {
		t.Fatal("an order's not-found must not match a customer's")
	}
	if order.Error() != "order not found" {
		t.Fatalf("message %q", order.Error())
	}
}

func TestTextRules(t *testing.T) {
	cases := map[string]struct {
		text     string
		freeText bool
		want     string // "" = valid
	}{
		"plain":             {"bk-42", false, ""},
		"blank":             {"  \t", false, "must not be blank"},
		"empty":             {"", false, "must not be blank"},
		"empty free text":   {"", true, ""},
		"too long":          {strings.Repeat("é", 6), false, "at most 5 characters"},
		"five runes":        {strings.Repeat("é", 5), false, ""},
		"control":           {"a\x00b", false, "control characters"},
		"newline in prose":  {"a\nb\tc", true, ""},
		"newline in a code": {"a\nb", false, "control characters"},
		"invalid utf-8":     {"\xff", true, "valid UTF-8"},
	}
	for name, c := range cases {
		var v kit.Validation
		if c.freeText {
			v.FreeText("f", c.text, 5)
		} else {
			v.Text("f", c.text, 5)
		}
		err := v.Err()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: unexpected %v", name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}

func TestValidationCollectsEveryField(t *testing.T) {
	var v kit.Validation
	v.ID("id", [16]byte{})
	v.Range("quantity", 0, 1, 10)
	v.Text("sku", "ok", 10)
	var ve *kit.ValidationError
	if !errors.As(v.Err(), &ve) {
		t.Fatalf("got %v", v.Err())
	}
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	if !slices.Equal(fields, []string{"id", "quantity"}) {
		t.Fatalf("fields %v", fields)
	}
	var none kit.Validation
	if none.Err() != nil {
		t.Fatal("no field errors must be a nil error")
	}
}

func TestFoldUsesFoldAllWhenGiven(t *testing.T) {
	d := kit.Decider[int, int, int]{Evolve: func(s, e int) int { return s + e }}
	if got := d.Fold(1, 2, 3); got != 6 {
		t.Fatalf("Fold by Evolve = %d", got)
	}
	d.FoldAll = func(s int, es []int) int { return -1 }
	if got := d.Fold(1, 2, 3); got != -1 {
		t.Fatalf("Fold ignored FoldAll: %d", got)
	}
}

func TestTransitionDecidesByStatus(t *testing.T) {
	notFound, conflict := kit.NotFound("thing"), &kit.ConflictError{Resource: "thing", Code: "thing_not_open", Message: "not open"}
	closing := kit.Transition[string, string]{From: []string{"open"}, To: "closed", Repeatable: true, NotFound: notFound, Conflict: conflict}
	anyToClosed := kit.Transition[string, string]{To: "closed", NotFound: notFound, Conflict: conflict}
	for _, c := range []struct {
		rule    kit.Transition[string, string]
		current string
		events  int
		err     error
	}{
		{closing, "", 0, notFound},
		{closing, "open", 1, nil},
		{closing, "closed", 0, nil},
		{closing, "archived", 0, conflict},
		{anyToClosed, "archived", 1, nil},
		{anyToClosed, "closed", 0, conflict}, // not Repeatable
	} {
		events, err := c.rule.Decide(c.current, "closed!")
		if len(events) != c.events || !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("%+v from %q: %v, %v; want %d events, %v", c.rule, c.current, events, err, c.events, c.err)
		}
	}
}
