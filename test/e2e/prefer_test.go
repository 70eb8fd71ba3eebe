package e2e

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/api"
)

// Prefer: return=minimal (RFC 7240) on every command: 204, no body, the order's ETag and
// Location, Preference-Applied. Without it, the full representation as before; the
// state is the same either way.
func TestPreferReturnMinimal(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	minimal := []string{"Prefer", "return=minimal"}
	check := func(what string, r *response, version string, id uuid.UUID) {
		t.Helper()
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("%s: %s, want 204 without a body", what, r)
		}
		if got := r.Header.Get("ETag"); got != `"`+version+`"` {
			t.Errorf("%s: ETag %q, want %q", what, got, `"`+version+`"`)
		}
		if got := r.Header.Get("Location"); got != "/orders/"+id.String() {
			t.Errorf("%s: Location %q", what, got)
		}
		if got := r.Header.Get("Preference-Applied"); got != "return=minimal" {
			t.Errorf("%s: Preference-Applied %q", what, got)
		}
	}
	placed := do(t, http.MethodPost, base+"/orders", `{"customer_id":"minimal","currency":"EUR"}`, minimal...)
	loc := placed.Header.Get("Location")
	id, err := uuid.Parse(loc[len("/orders/"):])
	if err != nil {
		t.Fatalf("place: Location %q: %v", loc, err)
	}
	check("place", placed, "1", id)
	check("add line", do(t, http.MethodPost, base+"/orders/"+id.String()+"/lines", `{"sku":"a","quantity":2,"unit_price_cents":150}`,
		"Prefer", `respond-async, return=minimal; foo="bar"`), "2", id)
	full := do(t, http.MethodPost, base+"/orders/"+id.String()+"/lines", `{"sku":"b","quantity":1,"unit_price_cents":100}`, "Prefer", "return=representation")
	if full.Status != http.StatusOK || full.Header.Get("Preference-Applied") != "" {
		t.Fatalf("return=representation: %s", full)
	}
	check("confirm", do(t, http.MethodPost, base+"/orders/"+id.String()+"/confirm", "", append(minimal, "If-Match", `"3"`)...), "4", id)

	other := do(t, http.MethodPost, base+"/orders", `{"customer_id":"minimal","currency":"EUR"}`)
	o := decode[api.Order](t, "place", other.Body)
	check("cancel", do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/cancel", `{"reason":"test"}`, minimal...), "2", o.Id)

	g := decode[api.Order](t, "get", getOrder(t, base, id).Body)
	if g.Version != 4 || g.Status != api.OrderStatusConfirmed || len(g.Lines) != 2 || g.TotalCents != 400 {
		t.Fatalf("after minimal commands: %+v", g)
	}
	// Failures are problems as always.
	r := do(t, http.MethodPost, base+"/orders/"+id.String()+"/lines", `{"sku":"c","quantity":1,"unit_price_cents":1}`, minimal...)
	checkProblem(t, "add to confirmed", r, http.StatusConflict, "order_not_pending")
}
