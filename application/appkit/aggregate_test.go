package appkit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A staff-only aggregate refuses a customer before its stream is read, and runs for staff.
func TestAStaffOnlyHandlerRefusesACustomerBeforeReading(t *testing.T) {
	s := newMemStore()
	h := newCounterHandler(s, 1, nil)
	h.staffOnly = true
	one := func(time.Time) int { return 1 }
	customer := WithPrincipal(context.Background(), Principal{Subject: "alice"})
	if _, err := h.Run(customer, "Add", uuid.New(), CommandOptions{}, one); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a customer: %v, want forbidden", err)
	}
	wantCalls(t, s)
	if _, err := h.Run(context.Background(), "Add", uuid.New(), CommandOptions{}, one); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("no principal: %v, want unauthenticated", err)
	}
	if res, err := h.Run(system(), "Add", uuid.New(), CommandOptions{}, one); err != nil || res.View.Version != 1 {
		t.Fatalf("staff: %+v, %v", res, err)
	}
}

func TestOneOfNamesTheAllowedValues(t *testing.T) {
	type status string
	for _, c := range []struct {
		value   status
		allowed []status
		want    string
	}{
		{"", []status{"a", "b"}, ""},
		{"b", []status{"a", "b"}, ""},
		{"x", []status{"a"}, "must be a"},
		{"x", []status{"a", "b"}, "must be a or b"},
		{"x", []status{"a", "b", "c"}, "must be a, b or c"},
	} {
		got := OneOf("status", c.value, c.allowed...)
		if (c.want == "" && got != nil) || (c.want != "" && (len(got) != 1 || got[0].Field != "status" || got[0].Message != c.want)) {
			t.Errorf("OneOf(%q, %v) = %v, want %q", c.value, c.allowed, got, c.want)
		}
	}
}
