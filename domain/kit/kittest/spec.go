// Package kittest runs given/when/then specifications of a kit.Decider: given these
// past events, when this command is decided, then these events (or this error). It is
// for tests; a decider's spec reads as a table of cases.
package kittest

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/example/orders/domain/kit"
)

// Case is one specification. Exactly one of Then (nil or empty: "no events and no
// error"), WantErr and WantFields describes the outcome.
type Case[C, E any] struct {
	Name       string
	Given      []E
	When       C
	Then       []E
	WantErr    error    // matched with errors.Is
	WantFields []string // a *kit.ValidationError naming exactly these fields, in order
}

// Run runs each case as a parallel subtest. Besides the outcome it checks what every
// decider owes its callers: Decide leaves the state it was given unchanged, a
// validation error is no other kind of error, a conflict carries a code and a message,
// and every event decided folds without changing what Decide saw.
func Run[C, E, S any](t *testing.T, d kit.Decider[C, E, S], cases []Case[C, E]) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] {
			t.Fatalf("duplicate case name %q", c.Name)
		}
		seen[c.Name] = true
		if c.WantErr != nil && c.WantFields != nil {
			t.Fatalf("case %q: set WantErr or WantFields, not both", c.Name)
		}
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			state := d.Fold(d.Initial, c.Given...)
			before := d.Fold(d.Initial, c.Given...) // an independent copy to compare with

			got, err := d.Decide(state, c.When)

			if !reflect.DeepEqual(state, before) {
				t.Errorf("Decide changed the state it was given:\n got %+v\nwant %+v", state, before)
			}
			switch {
			case c.WantFields != nil:
				checkValidation(t, err, c.WantFields)
			case c.WantErr != nil:
				checkError(t, err, c.WantErr)
			default:
				if err != nil {
					t.Fatalf("err = %v, want events %+v", err, c.Then)
				}
				if len(got) == 0 && len(c.Then) == 0 {
					return
				}
				if !reflect.DeepEqual(got, c.Then) {
					t.Errorf("events:\n got %+v\nwant %+v", got, c.Then)
				}
				_ = d.Fold(state, got...)
				if !reflect.DeepEqual(state, before) {
					t.Errorf("folding the decided events changed the state they were decided on")
				}
			}
			if err != nil && len(got) > 0 {
				t.Errorf("Decide returned both events %+v and error %v", got, err)
			}
		})
	}
}

func checkValidation(t *testing.T, err error, want []string) {
	t.Helper()
	var ve *kit.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want *kit.ValidationError with fields %q", err, err, want)
	}
	names := make([]string, len(ve.Fields))
	for i, f := range ve.Fields {
		names[i] = f.Field
		if f.Message == "" {
			t.Errorf("field %q has an empty message", f.Field)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("validation fields = %q, want %q (%v)", names, want, err)
	}
	if errors.Is(err, kit.ErrNotFound) {
		t.Errorf("a validation error must not also be a not-found error")
	}
	var ce *kit.ConflictError
	if errors.As(err, &ce) {
		t.Errorf("a validation error must not also be a *kit.ConflictError")
	}
}

func checkError(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v (%T), want errors.Is %v", err, err, want)
	}
	var ce *kit.ConflictError
	if errors.As(want, &ce) {
		if ce.Code == "" || ce.Message == "" || ce.Resource == "" {
			t.Errorf("conflict %+v needs a code, a message and a resource", ce)
		}
	}
	var ve *kit.ValidationError
	if errors.As(err, &ve) {
		t.Errorf("err is unexpectedly also a *kit.ValidationError: %v", err)
	}
}
