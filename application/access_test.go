package application

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/customer"
	"github.com/example/orders/domain/kit"
)

// The use cases' access checks, which come before any port is asked.

func customerCtx(subject string) context.Context {
	return appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: subject})
}

// consumerStatuses answers one status.
type consumerStatuses struct{ asked int }

func (c *consumerStatuses) ConsumerStatuses(context.Context) ([]ConsumerStatus, error) {
	c.asked++
	return []ConsumerStatus{{Name: "projection"}}, nil
}

// The consumers' statuses name the service's internals: staff see them, nobody else.
func TestConsumersAreShownToStaffOnly(t *testing.T) {
	port := &consumerStatuses{}
	h := NewListConsumersHandler(port)
	if got, err := h.Handle(customerCtx("alice")); !errors.Is(err, appkit.ErrForbidden) || got != nil || port.asked != 0 {
		t.Fatalf("a customer: %v %v, port asked %d times; want ErrForbidden, unasked", got, err, port.asked)
	}
	if got, err := h.Handle(appkit.AsSystem(context.Background())); err != nil || len(got) != 1 || got[0].Name != "projection" {
		t.Fatalf("staff: %v %v, want the port's statuses", got, err)
	}
}

// eraser writes down what it was asked to erase.
type eraser struct {
	erased []customer.PersonalDataErased
	md     []appkit.Metadata
}

func (e *eraser) ErasePersonalData(_ context.Context, erased customer.PersonalDataErased, md appkit.Metadata) (bool, error) {
	e.erased, e.md = append(e.erased, erased), append(e.md, md)
	return true, nil
}

// A customer erases its own personal data, staff anyone's; the erasure is recorded at
// the configured clock's time, in UTC, under the command's name and the caller's
// subject. An id no customer can have is a validation error, and another customer's
// is ErrForbidden, before anything is erased.
func TestPersonalDataIsErasedByItsCustomerOrStaff(t *testing.T) {
	now := time.Date(2026, 12, 7, 14, 0, 0, 0, time.FixedZone("x", 3600))
	for _, c := range []struct {
		name     string
		ctx      context.Context
		customer string
		want     error // nil: erased
		wantErr  bool  // any error (a validation error)
	}{
		{"its customer", customerCtx("alice"), "alice", nil, false},
		{"staff", appkit.AsSystem(context.Background()), "alice", nil, false},
		{"another customer", customerCtx("bob"), "alice", appkit.ErrForbidden, true},
		{"nobody", context.Background(), "alice", appkit.ErrUnauthenticated, true},
		{"an id too long", appkit.AsSystem(context.Background()), strings.Repeat("a", customer.MaxIDLength+1), nil, true},
		{"no id", appkit.AsSystem(context.Background()), "", nil, true},
	} {
		e := &eraser{}
		err := NewPersonalData(e, appkit.RunnerConfig{Now: func() time.Time { return now }}).Erase(c.ctx, c.customer)
		var validation *kit.ValidationError
		switch {
		case c.wantErr && (err == nil || c.want != nil && !errors.Is(err, c.want) || c.want == nil && !errors.As(err, &validation)), !c.wantErr && err != nil:
			t.Errorf("%s: %v, want %v (a validation error if none named)", c.name, err, c.want)
		case c.wantErr && len(e.erased) != 0:
			t.Errorf("%s: erased %+v", c.name, e.erased)
		case !c.wantErr:
			caller, _ := appkit.Caller(c.ctx)
			if len(e.erased) != 1 || e.erased[0].CustomerID != "alice" || !e.erased[0].ErasedAt.Equal(now) || e.erased[0].ErasedAt.Location() != time.UTC ||
				e.md[0].Command != "ErasePersonalData" || e.md[0].Actor != caller.Subject {
				t.Errorf("%s: erased %+v with %+v, want alice's at %v in UTC by ErasePersonalData of %q", c.name, e.erased, e.md, now, caller.Subject)
			}
		}
	}
	// Without a clock, the time is now's.
	e := &eraser{}
	before := time.Now()
	if err := NewPersonalData(e, appkit.RunnerConfig{}).Erase(appkit.AsSystem(context.Background()), "alice"); err != nil || len(e.erased) != 1 ||
		e.erased[0].ErasedAt.Before(before.Add(-time.Second)) || e.erased[0].ErasedAt.After(time.Now()) {
		t.Fatalf("erased %+v (%v), want it at the time of the call", e.erased, err)
	}
}
