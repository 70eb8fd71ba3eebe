package application

import (
	"context"
	"errors"
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
