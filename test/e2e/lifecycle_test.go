package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/api"
)

// TestOrderLifecycle places an order, adds two lines, confirms and cancels it, and
// checks every response, the read-your-writes GET and the recorded event history with
// its correlation and causation ids.
func TestOrderLifecycle(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	ctx := context.Background()
	correlation := "e2e-corr-" + uuid.NewString()[:8]
	customer := uniqueCustomer("life")

	// requestIDs[i] is the X-Request-ID of the response to the i-th command, which must
	// become the causation id of the event that command recorded. The first and third
	// commands send their own id, the others let the server choose.
	var requestIDs []string

	// 1. Place.
	begin := time.Now().UTC().Add(-time.Second)
	placed, err := c.PlaceOrderWithResponse(ctx, &api.PlaceOrderParams{XCorrelationID: &correlation},
		api.PlaceOrderRequest{CustomerId: &customer, Currency: "EUR"}, withHeader("X-Request-ID", "e2e-req-place"))
	if err != nil {
		t.Fatal(err)
	}
	if placed.StatusCode() != http.StatusCreated || placed.JSON201 == nil {
		t.Fatalf("place: %d %s", placed.StatusCode(), placed.Body)
	}
	o := *placed.JSON201
	h := placed.HTTPResponse.Header
	if got, want := h.Get("Location"), "/orders/"+o.Id.String(); got != want {
		t.Errorf("place: Location %q, want %q", got, want)
	}
	if got := h.Get("ETag"); got != `"1"` {
		t.Errorf("place: ETag %q, want %q", got, `"1"`)
	}
	if got := h.Get("X-Request-ID"); got != "e2e-req-place" {
		t.Errorf("place: X-Request-ID %q, want the one sent", got)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("place: Content-Type %q", ct)
	}
	requestIDs = append(requestIDs, h.Get("X-Request-ID"))
	if o.Id == uuid.Nil || o.Id.Version() != 7 {
		t.Errorf("place: server-chosen id %s is not a UUIDv7", o.Id)
	}
	if o.CustomerId != customer || o.Currency != "EUR" || o.Status != api.OrderStatusPending || len(o.Lines) != 0 ||
		o.Lines == nil || o.TotalCents != 0 || o.LineCount != 0 || o.UnitCount != 0 || o.Version != 1 {
		t.Errorf("place: body %s", placed.Body)
	}
	if o.PlacedAt.Before(begin) || o.PlacedAt.After(time.Now().Add(time.Second)) || !o.UpdatedAt.Equal(o.PlacedAt) {
		t.Errorf("place: placed_at %v / updated_at %v not now", o.PlacedAt, o.UpdatedAt)
	}

	// 2. Two lines.
	lines := []api.AddLineRequest{
		{Sku: "SKU-BOOK-001", Quantity: 2, UnitPriceCents: 1999},
		{Sku: "SKU-PEN-002", Quantity: 3, UnitPriceCents: 250},
	}
	var lastBody []byte
	for i, l := range lines {
		var editors []api.RequestEditorFn
		if i == 1 {
			editors = append(editors, withHeader("X-Request-ID", "e2e-req-line-2"))
		}
		r, err := c.AddOrderLineWithResponse(ctx, o.Id, &api.AddOrderLineParams{XCorrelationID: &correlation}, l, editors...)
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
			t.Fatalf("line %d: %d %s", i+1, r.StatusCode(), r.Body)
		}
		wantVersion := int64(i + 2)
		if got, want := r.HTTPResponse.Header.Get("ETag"), `"`+itoa(wantVersion)+`"`; got != want {
			t.Errorf("line %d: ETag %q, want %q", i+1, got, want)
		}
		if r.JSON200.Version != wantVersion || len(r.JSON200.Lines) != i+1 {
			t.Errorf("line %d: body %s", i+1, r.Body)
		}
		requestIDs = append(requestIDs, r.HTTPResponse.Header.Get("X-Request-ID"))
		o, lastBody = *r.JSON200, r.Body
	}
	if want := []api.OrderLine{{Sku: "SKU-BOOK-001", Quantity: 2, UnitPriceCents: 1999}, {Sku: "SKU-PEN-002", Quantity: 3, UnitPriceCents: 250}}; !equalLines(o.Lines, want) {
		t.Errorf("lines %+v, want %+v", o.Lines, want)
	}
	if o.TotalCents != 2*1999+3*250 {
		t.Errorf("total_cents %d, want %d", o.TotalCents, 2*1999+3*250)
	}
	if o.UnitCount != 5 || o.LineCount != int64(len(o.Lines)) {
		t.Errorf("unit_count %d, want 5 (the sum of quantities); line_count %d for %d lines", o.UnitCount, o.LineCount, len(o.Lines))
	}
	if o.UpdatedAt.Before(o.PlacedAt) || o.Status != api.OrderStatusPending {
		t.Errorf("after lines: %+v", o)
	}

	// 3. Confirm.
	conf, err := c.ConfirmOrderWithResponse(ctx, o.Id, &api.ConfirmOrderParams{XCorrelationID: &correlation}, withHeader("X-Request-ID", "e2e-req-confirm"))
	if err != nil {
		t.Fatal(err)
	}
	if conf.StatusCode() != http.StatusOK || conf.JSON200 == nil {
		t.Fatalf("confirm: %d %s", conf.StatusCode(), conf.Body)
	}
	if conf.JSON200.Status != api.OrderStatusConfirmed || conf.JSON200.Version != 4 || conf.HTTPResponse.Header.Get("ETag") != `"4"` ||
		conf.JSON200.TotalCents != o.TotalCents || conf.JSON200.UnitCount != 5 {
		t.Errorf("confirm: ETag %q body %s", conf.HTTPResponse.Header.Get("ETag"), conf.Body)
	}
	requestIDs = append(requestIDs, conf.HTTPResponse.Header.Get("X-Request-ID"))

	// 4. Cancel with a reason.
	reason := "Customer changed their mind."
	canc, err := c.CancelOrderWithResponse(ctx, o.Id, &api.CancelOrderParams{XCorrelationID: &correlation}, api.CancelRequest{Reason: &reason})
	if err != nil {
		t.Fatal(err)
	}
	if canc.StatusCode() != http.StatusOK || canc.JSON200 == nil {
		t.Fatalf("cancel: %d %s", canc.StatusCode(), canc.Body)
	}
	if canc.JSON200.Status != api.OrderStatusCancelled || canc.JSON200.Version != 5 || canc.HTTPResponse.Header.Get("ETag") != `"5"` {
		t.Errorf("cancel: ETag %q body %s", canc.HTTPResponse.Header.Get("ETag"), canc.Body)
	}
	requestIDs = append(requestIDs, canc.HTTPResponse.Header.Get("X-Request-ID"))
	lastBody = canc.Body

	// 5. Read your writes: GET is exactly the last command's answer.
	got := getOrder(t, base, o.Id)
	if got.Status != http.StatusOK {
		t.Fatalf("get: %s", got)
	}
	if !bytes.Equal(got.Body, lastBody) {
		t.Errorf("GET body differs from the last command's body:\n GET:    %s\n cancel: %s", got.Body, lastBody)
	}
	if et := got.Header.Get("ETag"); et != `"5"` {
		t.Errorf("get: ETag %q, want \"5\"", et)
	}

	// 6. The history.
	evs := events(t, c, o.Id)
	wantTypes := []string{"OrderPlaced", "OrderLineAdded", "OrderLineAdded", "OrderConfirmed", "OrderCancelled"}
	if len(evs) != len(wantTypes) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(wantTypes), evs)
	}
	seen := map[uuid.UUID]bool{}
	for i, e := range evs {
		if e.Type != wantTypes[i] {
			t.Errorf("event %d: type %q, want %q", i, e.Type, wantTypes[i])
		}
		if e.Version != int64(i+1) {
			t.Errorf("event %d: version %d, want %d", i, e.Version, i+1)
		}
		if e.SchemaVersion < 1 {
			t.Errorf("event %d: schema_version %d", i, e.SchemaVersion)
		}
		if i > 0 && e.Position <= evs[i-1].Position {
			t.Errorf("event %d: position %d not after %d", i, e.Position, evs[i-1].Position)
		}
		if i > 0 && e.RecordedAt.Before(evs[i-1].RecordedAt) {
			t.Errorf("event %d: recorded_at %v before the previous event's %v", i, e.RecordedAt, evs[i-1].RecordedAt)
		}
		if e.EventId == uuid.Nil || seen[e.EventId] {
			t.Errorf("event %d: event_id %s nil or repeated", i, e.EventId)
		}
		seen[e.EventId] = true
		if got := e.Metadata["correlation_id"]; got != correlation {
			t.Errorf("event %d: metadata.correlation_id %v, want %q", i, got, correlation)
		}
		if got := e.Metadata["causation_id"]; got != requestIDs[i] || requestIDs[i] == "" {
			t.Errorf("event %d: metadata.causation_id %v, want the response's X-Request-ID %q", i, got, requestIDs[i])
		}
	}
	if !evs[0].RecordedAt.Equal(o.PlacedAt) {
		t.Errorf("OrderPlaced recorded_at %v, order placed_at %v", evs[0].RecordedAt, o.PlacedAt)
	}
	if !evs[4].RecordedAt.Equal(canc.JSON200.UpdatedAt) {
		t.Errorf("last event recorded_at %v, order updated_at %v", evs[4].RecordedAt, canc.JSON200.UpdatedAt)
	}
	if d := evs[0].Data; d["customer_id"] != customer || d["currency"] != "EUR" {
		t.Errorf("OrderPlaced data %v", d)
	}
	if d := evs[1].Data; d["sku"] != "SKU-BOOK-001" || d["quantity"] != float64(2) || d["unit_price_cents"] != float64(1999) {
		t.Errorf("OrderLineAdded data %v", d)
	}
	if d := evs[4].Data; d["reason"] != reason {
		t.Errorf("OrderCancelled data %v, want reason %q", d, reason)
	}
	if requestIDs[0] != "e2e-req-place" || requestIDs[2] != "e2e-req-line-2" || requestIDs[3] != "e2e-req-confirm" {
		t.Errorf("sent X-Request-IDs not echoed: %q", requestIDs)
	}
	if _, err := uuid.Parse(requestIDs[1]); err != nil {
		t.Errorf("generated X-Request-ID %q is not a UUID", requestIDs[1])
	}

	// 7. Confirming or cancelling again changes nothing and answers 200 as it is.
	again := do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/cancel", "")
	if again.Status != http.StatusOK || !bytes.Equal(again.Body, lastBody) || again.Header.Get("ETag") != `"5"` {
		t.Errorf("cancel again: %s (ETag %q), want 200 and the same order", again, again.Header.Get("ETag"))
	}
	if n := len(events(t, c, o.Id)); n != 5 {
		t.Errorf("cancelling a cancelled order recorded an event: %d events", n)
	}
}

// TestClientChosenID places an order under an id the client chose; placing it again
// is a conflict, not a second order.
func TestClientChosenID(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	id := uuid.New()
	customer := uniqueCustomer("chosen")

	r, err := c.PlaceOrderWithResponse(context.Background(), nil, api.PlaceOrderRequest{Id: &id, CustomerId: &customer, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode() != http.StatusCreated || r.JSON201 == nil || r.JSON201.Id != id {
		t.Fatalf("place with id: %d %s", r.StatusCode(), r.Body)
	}
	if got := r.HTTPResponse.Header.Get("Location"); got != "/orders/"+id.String() {
		t.Errorf("Location %q", got)
	}

	again := do(t, http.MethodPost, base+"/orders", `{"id":"`+id.String()+`","customer_id":"someone-else","currency":"EUR"}`)
	checkProblem(t, "place same id", again, http.StatusConflict, "order_already_placed")

	// Nothing changed: still one event, the first customer.
	if evs := events(t, c, id); len(evs) != 1 {
		t.Errorf("%d events after the conflicting place, want 1", len(evs))
	}
	g := getOrder(t, base, id)
	o := decode[api.Order](t, "get", g.Body)
	if o.CustomerId != customer || o.Currency != "USD" {
		t.Errorf("order changed by the conflicting place: %s", g.Body)
	}
}

func equalLines(a, b []api.OrderLine) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
