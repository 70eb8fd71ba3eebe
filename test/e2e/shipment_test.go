package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/api"
)

// confirmedOrder places an order with two lines and confirms it.
func confirmedOrder(t *testing.T, c *api.ClientWithResponses) api.Order {
	t.Helper()
	o := placeOrder(t, c, uniqueCustomer("ship"))
	addLine(t, c, o.Id, "SKU-BOOK-001", 2, 1999)
	addLine(t, c, o.Id, "SKU-PEN-002", 1, 250)
	return confirmOrder(t, c, o.Id)
}

func createShipment(t *testing.T, base string, orderID uuid.UUID) *response {
	t.Helper()
	return do(t, http.MethodPost, base+"/shipments", `{"order_id":"`+orderID.String()+`"}`)
}

func shipmentOf(t *testing.T, where string, r *response, status int) api.Shipment {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %s, want %d", where, r, status)
	}
	return decode[api.Shipment](t, where, r.Body)
}

func TestShipmentLifecycle(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	o := confirmedOrder(t, c)

	// Create from a confirmed order: 201, Location, ETag, the order's lines as items.
	r := createShipment(t, base, o.Id)
	s := shipmentOf(t, "create", r, http.StatusCreated)
	location := "/shipments/" + s.Id.String()
	if r.Header.Get("Location") != location || r.Header.Get("ETag") != `"1"` {
		t.Errorf("create: Location %q ETag %q", r.Header.Get("Location"), r.Header.Get("ETag"))
	}
	if s.OrderId != o.Id || s.CustomerId != o.CustomerId || s.Status != api.ShipmentStatusPending || s.Version != 1 || len(s.Items) != 2 ||
		s.Items[0] != (api.ShipmentItem{Sku: "SKU-BOOK-001", Quantity: 2}) || s.Carrier != nil {
		t.Errorf("create: %s", r.Body)
	}

	// A second create: 409 shipment_exists, pointing at the existing shipment.
	again := createShipment(t, base, o.Id)
	checkProblem(t, "second create", again, http.StatusConflict, "shipment_exists")
	if again.Header.Get("Location") != location {
		t.Errorf("second create: Location %q, want %q", again.Header.Get("Location"), location)
	}

	// Orders that cannot be shipped.
	pending := placeOrder(t, c, uniqueCustomer("ship-pending"))
	addLine(t, c, pending.Id, "SKU-1", 1, 100)
	p := checkProblem(t, "pending order", createShipment(t, base, pending.Id), http.StatusConflict, "order_not_confirmed")
	if p.Title != "Order is not confirmed" || !strings.Contains(p.Detail, "confirmed") {
		t.Errorf("pending order: %+v", p)
	}
	if r := createShipment(t, base, pending.Id); r.Header.Get("Location") != "" {
		t.Errorf("order_not_confirmed carries Location %q", r.Header.Get("Location"))
	}
	checkProblem(t, "missing order", createShipment(t, base, uuid.New()), http.StatusNotFound, "order_not_found")

	// Deliver before dispatch: 409.
	checkProblem(t, "deliver pending", do(t, http.MethodPost, base+location+"/deliver", ""), http.StatusConflict, "shipment_not_dispatched")

	// If-Match with a stale version: 412 worded for the shipment.
	stale := do(t, http.MethodPost, base+location+"/dispatch", `{"carrier":"DHL","tracking_no":"JD1"}`, "If-Match", `"2"`)
	p = checkProblem(t, "stale dispatch", stale, http.StatusPreconditionFailed, "version_mismatch")
	if !strings.Contains(p.Detail, "shipment's current version 1") || stale.Header.Get("ETag") != `"1"` {
		t.Errorf("stale dispatch: detail %q, ETag %q", p.Detail, stale.Header.Get("ETag"))
	}

	// Dispatch, then the 409s of a dispatched shipment.
	r = do(t, http.MethodPost, base+location+"/dispatch", `{"carrier":"DHL","tracking_no":"JD1"}`, "If-Match", `"1"`)
	s = shipmentOf(t, "dispatch", r, http.StatusOK)
	if s.Status != api.ShipmentStatusDispatched || deref(s.Carrier) != "DHL" || deref(s.TrackingNo) != "JD1" || r.Header.Get("ETag") != `"2"` {
		t.Errorf("dispatch: %s", r)
	}
	checkProblem(t, "dispatch twice", do(t, http.MethodPost, base+location+"/dispatch", `{"carrier":"UPS","tracking_no":"1Z"}`),
		http.StatusConflict, "shipment_not_pending")
	checkProblem(t, "cancel dispatched", do(t, http.MethodPost, base+location+"/cancel", ""), http.StatusConflict, "shipment_already_dispatched")

	// Deliver; delivering again changes nothing.
	s = shipmentOf(t, "deliver", do(t, http.MethodPost, base+location+"/deliver", ""), http.StatusOK)
	if s.Status != api.ShipmentStatusDelivered || s.Version != 3 {
		t.Errorf("deliver: %+v", s)
	}
	if s := shipmentOf(t, "deliver again", do(t, http.MethodPost, base+location+"/deliver", ""), http.StatusOK); s.Version != 3 {
		t.Errorf("deliver again: version %d, want 3", s.Version)
	}

	// Reads: current, conditional, as of a version, history.
	if r := do(t, http.MethodGet, base+location, "", "If-None-Match", `"3"`); r.Status != http.StatusNotModified {
		t.Errorf("If-None-Match: %s", r)
	}
	if s := shipmentOf(t, "as of 1", do(t, http.MethodGet, base+location+"?version=1", ""), http.StatusOK); s.Status != api.ShipmentStatusPending || s.Version != 1 {
		t.Errorf("as of version 1: %+v", s)
	}
	if s := shipmentOf(t, "as of now", do(t, http.MethodGet, base+location+"?at="+s.UpdatedAt.Format("2006-01-02T15:04:05.999999Z"), ""), http.StatusOK); s.Version != 3 {
		t.Errorf("as of updated_at: %+v", s)
	}
	checkProblem(t, "as of version 9", do(t, http.MethodGet, base+location+"?version=9", ""), http.StatusNotFound, "shipment_not_found")
	checkProblem(t, "unknown shipment", do(t, http.MethodGet, base+"/shipments/"+uuid.NewString(), ""), http.StatusNotFound, "shipment_not_found")
	history := decode[api.EventList](t, "history", do(t, http.MethodGet, base+location+"/events", "").Body)
	var types []string
	for _, e := range history.Items {
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "ShipmentCreated,ShipmentDispatched,ShipmentDelivered" {
		t.Errorf("history: %v", types)
	}

	// A form the contract refuses.
	bad := do(t, http.MethodPost, base+location+"/dispatch", `{"carrier":" ","tracking_no":"JD1"}`, invalid...)
	checkFields(t, "blank carrier", checkProblem(t, "blank carrier", bad, http.StatusBadRequest, "validation_failed"), "carrier")
}

func TestShipmentCancelAndList(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	ctx := context.Background()

	var ids []uuid.UUID
	var orders []uuid.UUID
	for range 3 {
		o := confirmedOrder(t, c)
		orders = append(orders, o.Id)
		ids = append(ids, shipmentOf(t, "create", createShipment(t, base, o.Id), http.StatusCreated).Id)
	}
	// Cancel the middle one with a reason; again is a no-op; it cannot be dispatched.
	cancel := base + "/shipments/" + ids[1].String() + "/cancel"
	s := shipmentOf(t, "cancel", do(t, http.MethodPost, cancel, `{"reason":"out of stock"}`), http.StatusOK)
	if s.Status != api.ShipmentStatusCancelled || s.Version != 2 {
		t.Errorf("cancel: %+v", s)
	}
	if s := shipmentOf(t, "cancel again", do(t, http.MethodPost, cancel, ""), http.StatusOK); s.Version != 2 {
		t.Errorf("cancel again: version %d, want 2", s.Version)
	}
	checkProblem(t, "dispatch cancelled", do(t, http.MethodPost, base+"/shipments/"+ids[1].String()+"/dispatch", `{"carrier":"DHL","tracking_no":"JD1"}`),
		http.StatusConflict, "shipment_not_pending")

	// Paging newest first, one at a time, through the generated client.
	var seen []uuid.UUID
	var cursor *string
	for {
		r, err := c.ListShipmentsWithResponse(ctx, &api.ListShipmentsParams{Limit: ptr(1), Cursor: cursor})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("list: %v %s", err, r.Body)
		}
		for _, s := range r.JSON200.Items {
			seen = append(seen, s.Id)
		}
		if r.JSON200.NextCursor == nil || *r.JSON200.NextCursor == "" {
			break
		}
		cursor = r.JSON200.NextCursor
	}
	if len(seen) != len(ids) {
		t.Fatalf("paged %v, want %d shipments", seen, len(ids))
	}
	for i := range ids {
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("paged %v, want newest first of %v", seen, ids)
		}
	}
	// Filters.
	cancelled := decode[api.ShipmentList](t, "status filter", do(t, http.MethodGet, base+"/shipments?status=cancelled", "").Body)
	if len(cancelled.Items) != 1 || cancelled.Items[0].Id != ids[1] {
		t.Errorf("status=cancelled: %+v", cancelled.Items)
	}
	byOrder := decode[api.ShipmentList](t, "order filter", do(t, http.MethodGet, base+"/shipments?order_id="+orders[2].String(), "").Body)
	if len(byOrder.Items) != 1 || byOrder.Items[0].Id != ids[2] {
		t.Errorf("order_id filter: %+v", byOrder.Items)
	}
	checkProblem(t, "bad cursor", do(t, http.MethodGet, base+"/shipments?cursor=abc", "", rule...), http.StatusBadRequest, "validation_failed")
	checkProblem(t, "bad status", do(t, http.MethodGet, base+"/shipments?status=lost", "", invalid...), http.StatusBadRequest, "validation_failed")
}

// TestShipmentAuthorization: only staff create, dispatch, deliver and cancel shipments
// (403 for a customer, even on its own order's shipment); a customer reads, lists and
// sees the history of the shipments of its own orders only: another customer's
// shipment answers 404 like a missing one, and lists are narrowed to the caller.
func TestShipmentAuthorization(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	alice, bob := uniqueCustomer("alice"), uniqueCustomer("bob")
	asAlice, asBob := as(alice, ""), as(bob, "")

	// Alice's order, placed and confirmed by her.
	placed := do(t, http.MethodPost, base+"/orders", `{"currency":"EUR"}`, asAlice...)
	if placed.Status != http.StatusCreated {
		t.Fatalf("alice places: %s", placed)
	}
	o := decode[api.Order](t, "place", placed.Body)
	orderURL := base + "/orders/" + o.Id.String()
	if r := do(t, http.MethodPost, orderURL+"/lines", `{"sku":"SKU-1","quantity":2,"unit_price_cents":100}`, asAlice...); r.Status != http.StatusOK {
		t.Fatalf("alice adds a line: %s", r)
	}
	if r := do(t, http.MethodPost, orderURL+"/confirm", "", asAlice...); r.Status != http.StatusOK {
		t.Fatalf("alice confirms: %s", r)
	}
	createBody := `{"order_id":"` + o.Id.String() + `"}`

	// Alice may not ship her own order; the refusal comes before the order is read, so
	// an unknown order is 403 as well, not order_not_found.
	checkProblem(t, "alice creates", do(t, http.MethodPost, base+"/shipments", createBody, asAlice...), http.StatusForbidden, "forbidden")
	checkProblem(t, "alice creates for an unknown order",
		do(t, http.MethodPost, base+"/shipments", `{"order_id":"`+uuid.NewString()+`"}`, asAlice...), http.StatusForbidden, "forbidden")

	// Staff ship it; the shipment is alice's.
	s := shipmentOf(t, "staff creates", do(t, http.MethodPost, base+"/shipments", createBody), http.StatusCreated)
	if s.CustomerId != alice || s.OrderId != o.Id {
		t.Fatalf("shipment of alice's order: customer %q order %s", s.CustomerId, s.OrderId)
	}
	shipURL := base + "/shipments/" + s.Id.String()

	// Alice reads, lists and sees the history of her shipment.
	if got := shipmentOf(t, "alice gets", do(t, http.MethodGet, shipURL, "", asAlice...), http.StatusOK); got.Id != s.Id || got.CustomerId != alice {
		t.Errorf("alice gets her shipment: %+v", got)
	}
	shipmentOf(t, "alice as of 1", do(t, http.MethodGet, shipURL+"?version=1", "", asAlice...), http.StatusOK)
	if h := do(t, http.MethodGet, shipURL+"/events", "", asAlice...); h.Status != http.StatusOK || len(decode[api.EventList](t, "history", h.Body).Items) != 1 {
		t.Errorf("alice's history: %s", h)
	}
	list := func(query string, headers []string) []uuid.UUID {
		t.Helper()
		r := do(t, http.MethodGet, base+"/shipments"+query, "", headers...)
		if r.Status != http.StatusOK {
			t.Fatalf("list %q: %s", query, r)
		}
		ids := []uuid.UUID{}
		for _, s := range decode[api.ShipmentList](t, "list", r.Body).Items {
			ids = append(ids, s.Id)
		}
		return ids
	}
	if got := list("", asAlice); len(got) != 1 || got[0] != s.Id {
		t.Errorf("alice lists: %v, want [%s]", got, s.Id)
	}
	if got := list("?order_id="+o.Id.String(), asAlice); len(got) != 1 || got[0] != s.Id {
		t.Errorf("alice lists by her order: %v", got)
	}

	// Bob: 404 exactly like a missing shipment, and empty lists.
	for name, url := range map[string]string{"get": shipURL, "as of": shipURL + "?version=1", "history": shipURL + "/events"} {
		checkProblem(t, "bob "+name, do(t, http.MethodGet, url, "", asBob...), http.StatusNotFound, "shipment_not_found")
	}
	if r := do(t, http.MethodHead, shipURL, "", asBob...); r.Status != http.StatusNotFound {
		t.Errorf("bob HEAD alice's shipment: %s", r)
	}
	if got := list("", asBob); len(got) != 0 {
		t.Errorf("bob lists: %v, want none", got)
	}
	if got := list("?order_id="+o.Id.String(), asBob); len(got) != 0 {
		t.Errorf("bob lists by alice's order: %v, want none", got)
	}
	if r := do(t, http.MethodGet, shipURL, "", noAuth...); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: %s", r)
	}

	// Alice's commands on her shipment: 403, and nothing changes.
	for name, req := range map[string][2]string{
		"create":   {base + "/shipments", createBody},
		"dispatch": {shipURL + "/dispatch", `{"carrier":"DHL","tracking_no":"JD1"}`},
		"deliver":  {shipURL + "/deliver", ""},
		"cancel":   {shipURL + "/cancel", `{"reason":"changed my mind"}`},
	} {
		checkProblem(t, "alice "+name, do(t, http.MethodPost, req[0], req[1], asAlice...), http.StatusForbidden, "forbidden")
	}
	checkProblem(t, "bob dispatches", do(t, http.MethodPost, shipURL+"/dispatch", `{"carrier":"DHL","tracking_no":"JD1"}`, asBob...),
		http.StatusForbidden, "forbidden")
	if got := shipmentOf(t, "after the refusals", do(t, http.MethodGet, shipURL, ""), http.StatusOK); got.Version != 1 {
		t.Fatalf("refused commands changed the shipment: version %d", got.Version)
	}

	// Staff do everything: dispatch, deliver, list all, read any history, cancel.
	shipmentOf(t, "staff dispatch", do(t, http.MethodPost, shipURL+"/dispatch", `{"carrier":"DHL","tracking_no":"JD1"}`), http.StatusOK)
	if got := shipmentOf(t, "staff deliver", do(t, http.MethodPost, shipURL+"/deliver", ""), http.StatusOK); got.Status != api.ShipmentStatusDelivered {
		t.Errorf("staff deliver: %+v", got)
	}
	if h := decode[api.EventList](t, "staff history", do(t, http.MethodGet, shipURL+"/events", "").Body); len(h.Items) != 3 {
		t.Errorf("staff history: %d events, want 3", len(h.Items))
	}
	c := newClient(t, base)
	other := confirmedOrder(t, c)
	os := shipmentOf(t, "staff creates another", createShipment(t, base, other.Id), http.StatusCreated)
	if got := shipmentOf(t, "staff cancel", do(t, http.MethodPost, base+"/shipments/"+os.Id.String()+"/cancel", ""), http.StatusOK); got.Status != api.ShipmentStatusCancelled {
		t.Errorf("staff cancel: %+v", got)
	}
	if got := list("", nil); len(got) != 2 {
		t.Errorf("staff lists %v, want both shipments", got)
	}
	if got := list("", asAlice); len(got) != 1 || got[0] != s.Id {
		t.Errorf("alice lists after staff shipped another customer's order: %v", got)
	}
}

// A shipment's history comes a page at a time, through the handler orders use
// (TestHistoryIsPaged).
func TestShipmentHistoryIsPaged(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	s := confirmedOrder(t, c)
	ship := shipmentOf(t, "create", createShipment(t, base, s.Id), http.StatusCreated)
	shipURL := base + "/shipments/" + ship.Id.String()
	if r := do(t, http.MethodPost, shipURL+"/dispatch", `{"carrier":"DHL","tracking_no":"T1"}`); r.Status != http.StatusOK {
		t.Fatalf("dispatch: %s", r)
	}
	if p := readHistory(t, shipURL+"/events?limit=1"); fmt.Sprint(p.versions()) != "[1]" || p.next() != "1" {
		t.Errorf("shipment page 1: %v next %s", p.versions(), p.next())
	}
	if p := readHistory(t, shipURL+"/events?after=1&limit=1"); fmt.Sprint(p.versions()) != "[2]" || p.next() != "none" {
		t.Errorf("shipment page 2: %v next %s", p.versions(), p.next())
	}
}

func ptr[T any](v T) *T { return &v }
