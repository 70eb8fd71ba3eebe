package appkit

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Scopes a principal may hold (the token's space-separated "scope" claim).
const (
	// ScopeStaff acts on every order (and, by the same rule, every aggregate whose
	// owner is a customer): read, list, change, place for anyone.
	ScopeStaff = "orders:staff"
	// ScopeEventsRead reads the event history of any aggregate.
	ScopeEventsRead = "events:read"
)

// Principal is who is calling: the authenticated subject (a customer id) and its
// scopes. The transport authenticates the request and puts the principal into the
// context (WithPrincipal); the use cases decide what it may do with RequireStaff,
// CanSeeCustomer and CanReadAllEvents.
//
// A context without a principal may do nothing (ErrUnauthenticated): access fails
// closed. Every transport puts a principal into the context of every request (the
// HTTP layer the verified one, or Unrestricted under AUTH_MODE=none), and trusted
// in-process callers (a reactor, an operator tool, a test of the use cases) say so
// with AsSystem.
type Principal struct {
	Subject string
	Scopes  []string
}

// Has reports whether the principal holds scope.
func (p Principal) Has(scope string) bool { return slices.Contains(p.Scopes, scope) }

// IsStaff reports whether the principal acts on every customer's aggregates.
func (p Principal) IsStaff() bool { return p.Has(ScopeStaff) }

// ParseScopes splits a space-separated scope claim.
func ParseScopes(s string) []string { return strings.Fields(s) }

// Unrestricted is the principal of AUTH_MODE=none: staff with every scope and no
// subject of its own, so PlaceOrder needs an explicit customer.
func Unrestricted() Principal {
	return Principal{Scopes: []string{ScopeStaff, ScopeEventsRead}}
}

// System is the principal of trusted in-process callers: Unrestricted, with the subject
// "system" so that the events it causes name it as their actor.
func System() Principal {
	p := Unrestricted()
	p.Subject = "system"
	return p
}

// AsSystem returns a context in which the use cases run for a trusted in-process
// caller (see System).
func AsSystem(ctx context.Context) context.Context { return WithPrincipal(ctx, System()) }

// ErrUnauthenticated answers a customer principal without a subject (HTTP 401); a
// verified token always has one.
var ErrUnauthenticated = errors.New("no authenticated principal")

// ErrForbidden answers a principal that may see the resource but not do this with it
// (HTTP 403). A resource the principal may not even see answers not-found instead.
var ErrForbidden = errors.New("the principal may not do this")

type principalKey struct{}

// WithPrincipal returns a context that carries p to the use cases.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal put into ctx by WithPrincipal.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Caller returns the principal of ctx, or ErrUnauthenticated when there is none or it
// is a customer without a subject.
func Caller(ctx context.Context) (Principal, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	if !p.IsStaff() && p.Subject == "" {
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}

// RequireStaff returns nil for a staff principal and ErrForbidden for anyone else. Use it for operations only staff may run at all.
func RequireStaff(ctx context.Context) error {
	p, err := Caller(ctx)
	if err != nil {
		return err
	}
	if !p.IsStaff() {
		return ErrForbidden
	}
	return nil
}

// CanSeeCustomer reports whether the caller may see (and act on) what belongs to
// customerID: staff may see everyone's, a customer only its own. Use cases answer a
// resource the caller may not see exactly like a missing one (not found), so that ids
// of other customers' resources cannot be probed.
func CanSeeCustomer(ctx context.Context, customerID string) bool {
	p, err := Caller(ctx)
	return err == nil && (p.IsStaff() || p.Subject == customerID)
}

// CanReadAllEvents reports whether the caller may read the event history of any
// aggregate (staff, or the events:read scope).
func CanReadAllEvents(ctx context.Context) bool {
	p, err := Caller(ctx)
	return err == nil && (p.IsStaff() || p.Has(ScopeEventsRead))
}

// ownerFilter is the customer a list must be restricted to: "" for staff (no
// restriction beyond the caller's own filter), the caller's subject otherwise.
// visible is false when the caller asked for another customer's items: the answer
// is then empty.
func ownerFilter(ctx context.Context, requested string) (customer string, visible bool, err error) {
	p, err := Caller(ctx)
	if err != nil {
		return "", false, err
	}
	if p.IsStaff() {
		return requested, true, nil
	}
	if requested != "" && requested != p.Subject {
		return "", false, nil
	}
	return p.Subject, true, nil
}

// AuthorizeEventFeed lets the caller read the whole event log (the feed and its
// stream): staff, or the events:read scope. Everyone else is ErrForbidden; the feed's
// existence is no secret, so 403 rather than not-found.
func AuthorizeEventFeed(ctx context.Context) error {
	if _, err := Caller(ctx); err != nil {
		return err
	}
	if !CanReadAllEvents(ctx) {
		return ErrForbidden
	}
	return nil
}
