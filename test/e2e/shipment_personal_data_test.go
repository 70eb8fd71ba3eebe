package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/example/orders/api"
	"github.com/example/orders/test/pgtest"
)

// A shipment carries its order's recipient and address, sealed under the customer's
// key like the order's contact: staff read it to dispatch, and the erasure erases it
// in the shipment, its history and shipment_overview too.
func TestShipmentAddressIsSealedAndErased(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	base := startServerOn(t, db, nil).URL
	c := newClient(t, base)
	customer, p := uniqueCustomer("ship-pii"), newRecognisable()
	o, err := placeWithContact(base, customer, p)
	if err != nil {
		t.Fatal(err)
	}
	addLine(t, c, o.Id, "SKU-1", 1, 100)
	confirmOrder(t, c, o.Id)
	r := do(t, http.MethodPost, base+"/shipments", `{"order_id":"`+o.Id.String()+`"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create shipment: %s", r)
	}
	s := decode[api.Shipment](t, "shipment", r.Body)
	if s.ShipTo == nil || s.ShipTo.Erased || *s.ShipTo.Name != p.name || s.ShipTo.Address.Line1 != p.line1 || s.ShipTo.Address.City != p.city {
		t.Fatalf("the new shipment's ship_to: %+v", s.ShipTo)
	}
	if strings.Contains(string(r.Body), p.email) {
		t.Errorf("the shipment shows the email, which shipping does not need: %s", r.Body)
	}
	path := "/shipments/" + s.Id.String()
	for _, read := range []string{path, path + "/events", "/shipments?order_id=" + o.Id.String()} {
		if body := do(t, http.MethodGet, base+read, "").Body; !strings.Contains(string(body), p.line1) {
			t.Errorf("GET %s does not show the address: %s", read, body)
		}
	}
	assertNotIn(t, "a pg_dump before the erasure", pgDump(t, db), p)

	if r := do(t, http.MethodDelete, base+"/customers/"+customer+"/personal-data", ""); r.Status != http.StatusNoContent {
		t.Fatalf("erase: %s", r)
	}
	for _, read := range []string{path, path + "/events", "/shipments?order_id=" + o.Id.String()} {
		body := do(t, http.MethodGet, base+read, "").Body
		if strings.Contains(string(body), p.line1) || strings.Contains(string(body), p.name) || !strings.Contains(string(body), `"erased":true`) {
			t.Errorf("GET %s after the erasure: %s", read, body)
		}
	}
	// Dispatching still works: the decider never needed the address.
	if r := do(t, http.MethodPost, base+path+"/dispatch", `{"carrier":"DHL","tracking_no":"JD1"}`); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"erased":true`) {
		t.Errorf("dispatch after the erasure: %s", r)
	}
	runVerifyE2E(t, db)
	assertNotIn(t, "a pg_dump after the erasure", pgDump(t, db), p)
}
