package appkit

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestPrincipalRules(t *testing.T) {
	none := context.Background()
	alice := WithPrincipal(none, Principal{Subject: "alice"})
	auditor := WithPrincipal(none, Principal{Subject: "audit", Scopes: ParseScopes(" events:read ")})
	staff := WithPrincipal(none, Principal{Subject: "clerk", Scopes: ParseScopes("events:read orders:staff")})

	if err := RequireStaff(none); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("RequireStaff without a principal must fail closed: %v", err)
	}
	if err := RequireStaff(AsSystem(none)); err != nil {
		t.Errorf("RequireStaff for a trusted in-process caller (AsSystem): %v", err)
	}
	if err := RequireStaff(WithPrincipal(none, Principal{})); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("RequireStaff for a customer without a subject: %v", err)
	}
	if err := RequireStaff(alice); !errors.Is(err, ErrForbidden) {
		t.Errorf("RequireStaff as a customer: %v", err)
	}
	if err := RequireStaff(staff); err != nil {
		t.Errorf("RequireStaff as staff: %v", err)
	}
	for _, c := range []struct {
		ctx      context.Context
		customer string
		want     bool
	}{{none, "alice", false}, {AsSystem(none), "alice", true}, {WithPrincipal(none, Principal{}), "", false}, {alice, "alice", true}, {alice, "bob", false}, {alice, "", false},
		{auditor, "alice", false}, {staff, "alice", true}, {WithPrincipal(none, Unrestricted()), "anyone", true}} {
		if got := CanSeeCustomer(c.ctx, c.customer); got != c.want {
			p, _ := PrincipalFrom(c.ctx)
			t.Errorf("CanSeeCustomer(%+v, %q) = %v", p, c.customer, got)
		}
	}
	if CanReadAllEvents(alice) || !CanReadAllEvents(auditor) || !CanReadAllEvents(staff) {
		t.Error("CanReadAllEvents")
	}
	for _, c := range []struct {
		ctx       context.Context
		requested string
		customer  string
		visible   bool
	}{{alice, "", "alice", true}, {alice, "alice", "alice", true}, {alice, "bob", "", false}, {staff, "", "", true}, {staff, "bob", "bob", true}} {
		customer, visible, err := ownerFilter(c.ctx, c.requested)
		if err != nil || customer != c.customer || visible != c.visible {
			t.Errorf("ownerFilter(%q) = %q %v %v", c.requested, customer, visible, err)
		}
	}
	if _, _, err := ownerFilter(WithPrincipal(none, Principal{}), ""); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("ownerFilter for a customer without a subject: %v", err)
	}
}

func TestAuthorizeEventFeed(t *testing.T) {
	none := context.Background()
	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"no principal", none, ErrUnauthenticated},
		{"a customer without a subject", WithPrincipal(none, Principal{Scopes: []string{ScopeEventsRead}}), ErrUnauthenticated},
		{"a customer", WithPrincipal(none, Principal{Subject: "alice"}), ErrForbidden},
		{"events:read", WithPrincipal(none, Principal{Subject: "audit", Scopes: []string{ScopeEventsRead}}), nil},
		{"staff", WithPrincipal(none, Principal{Subject: "clerk", Scopes: []string{ScopeStaff}}), nil},
		{"the system", AsSystem(none), nil},
	} {
		if err := AuthorizeEventFeed(c.ctx); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: AuthorizeEventFeed = %v, want %v", c.name, err, c.want)
		}
	}
	if CanReadAllEvents(none) || CanReadAllEvents(WithPrincipal(none, Principal{Scopes: []string{ScopeEventsRead}})) {
		t.Error("CanReadAllEvents without an authenticated principal")
	}
}

// The principals the service makes itself: AUTH_MODE=none's has no subject (a placed
// order then names its customer), the system's names itself as the actor.
func TestUnrestrictedAndSystem(t *testing.T) {
	u := Unrestricted()
	if u.Subject != "" || !u.IsStaff() || !u.Has(ScopeEventsRead) {
		t.Errorf("Unrestricted() = %+v", u)
	}
	s := System()
	if s.Subject != "system" || !s.IsStaff() || !s.Has(ScopeEventsRead) {
		t.Errorf("System() = %+v", s)
	}
	p, ok := PrincipalFrom(AsSystem(context.Background()))
	if !ok || p.Subject != "system" {
		t.Errorf("AsSystem carries %+v, %v", p, ok)
	}
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Error("PrincipalFrom found a principal in an empty context")
	}
	// Staff without a subject is a caller (Unrestricted); a customer without one is not.
	if p, err := Caller(WithPrincipal(context.Background(), u)); err != nil || p.Subject != "" {
		t.Errorf("Caller(Unrestricted) = %+v, %v", p, err)
	}
	if p, err := Caller(WithPrincipal(context.Background(), Principal{Subject: "alice", Scopes: []string{"x"}})); err != nil || p.Subject != "alice" || !slices.Equal(p.Scopes, []string{"x"}) {
		t.Errorf("Caller(alice) = %+v, %v", p, err)
	}
	if got := ParseScopes("  orders:staff\tevents:read  "); !slices.Equal(got, []string{ScopeStaff, ScopeEventsRead}) {
		t.Errorf("ParseScopes = %q", got)
	}
}
