package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/test/apiclient"
	"github.com/example/orders/test/testsupport"
)

// TestGeneratedClient drives the service with nothing but the client oapi-codegen
// generates from openapi.yaml (test/apiclient): place, add lines, confirm against
// the ETag, read, list, page and read the history.
func TestGeneratedClient(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c, err := apiclient.NewClientWithResponses(base, apiclient.WithHTTPClient(httpClient))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	customer := uniqueCustomer("generated")

	var placed []apiclient.Order
	for i := 0; i < 3; i++ {
		r, err := c.PlaceOrderWithResponse(ctx, nil, apiclient.PlaceOrderRequest{CustomerId: &customer, Currency: "EUR"})
		if err != nil || r.JSON201 == nil {
			t.Fatalf("place: %v %d %s", err, r.StatusCode(), r.Body)
		}
		placed = append(placed, *r.JSON201)
	}
	id := placed[0].Id
	var etag string
	for i, sku := range []string{"book-1", "pen-2"} {
		r, err := c.AddOrderLineWithResponse(ctx, id, nil, apiclient.AddLineRequest{Sku: sku, Quantity: int32(i + 1), UnitPriceCents: 250})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("add line: %v %d %s", err, r.StatusCode(), r.Body)
		}
		etag = r.HTTPResponse.Header.Get("ETag")
	}
	conf, err := c.ConfirmOrderWithResponse(ctx, id, &apiclient.ConfirmOrderParams{IfMatch: &etag})
	if err != nil || conf.JSON200 == nil || conf.JSON200.Status != apiclient.OrderStatusConfirmed {
		t.Fatalf("confirm: %v %d %s", err, conf.StatusCode(), conf.Body)
	}
	got, err := c.GetOrderWithResponse(ctx, id, nil)
	if err != nil || got.JSON200 == nil || got.JSON200.TotalCents != 750 || len(got.JSON200.Lines) != 2 {
		t.Fatalf("read: %v %d %s", err, got.StatusCode(), got.Body)
	}

	limit := 2
	var listed []apiclient.Order
	params := &apiclient.ListOrdersParams{CustomerId: &customer, Limit: &limit}
	for pages := 0; ; pages++ {
		r, err := c.ListOrdersWithResponse(ctx, params)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("list: %v %d %s", err, r.StatusCode(), r.Body)
		}
		listed = append(listed, r.JSON200.Items...)
		if r.JSON200.NextCursor == nil || pages > 3 {
			break
		}
		params.Cursor = r.JSON200.NextCursor
	}
	if len(listed) != 3 || listed[2].Id != id {
		t.Errorf("listed %d orders (oldest %v), want 3 ending with %v", len(listed), listed[len(listed)-1].Id, id)
	}

	h, err := c.GetOrderEventsWithResponse(ctx, id, nil)
	if err != nil || h.JSON200 == nil || h.JSON200.NextAfter != nil {
		t.Fatalf("history: %v %d %s", err, h.StatusCode(), h.Body)
	}
	var types []string
	for _, e := range h.JSON200.Items {
		types = append(types, e.Type)
	}
	if want := []string{"OrderPlaced", "OrderLineAdded", "OrderLineAdded", "OrderConfirmed"}; !reflect.DeepEqual(types, want) {
		t.Errorf("history %v, want %v", types, want)
	}
}

// TestHTTPConventions: HEAD wherever GET is, 405 with Allow, a number with a zero
// fraction as an integer, and If-Match as RFC 9110 defines it.
func TestHTTPConventions(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	o := placeOrder(t, c, uniqueCustomer("conventions"))
	id := o.Id.String()

	for _, path := range []string{"/orders/" + id, "/orders", "/orders/" + id + "/events", "/healthz", "/readyz", "/openapi.yaml", "/orders/" + uniqueCustomer("x")} {
		get := do(t, http.MethodGet, base+path, "", invalidIf(strings.HasPrefix(path, "/orders/x"))...)
		head := do(t, http.MethodHead, base+path, "", invalidIf(strings.HasPrefix(path, "/orders/x"))...)
		if head.Status != get.Status || len(head.Body) != 0 {
			t.Errorf("HEAD %s: %d with %d body bytes; GET: %d", path, head.Status, len(head.Body), get.Status)
		}
		for _, h := range []string{"Content-Type", "ETag"} {
			if head.Header.Get(h) != get.Header.Get(h) {
				t.Errorf("HEAD %s: %s %q, GET %q", path, h, head.Header.Get(h), get.Header.Get(h))
			}
		}
		if cl := head.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(get.Body)) {
			t.Errorf("HEAD %s: Content-Length %s, GET body %d bytes", path, cl, len(get.Body))
		}
	}

	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodDelete, "/orders/" + id, "GET, HEAD"},
		{http.MethodPut, "/orders", "GET, HEAD, POST"},
		{http.MethodGet, "/orders/" + id + "/lines", "POST"},
		{http.MethodOptions, "/healthz", "GET, HEAD"},
	} {
		r := do(t, tc.method, base+tc.path, "")
		checkProblem(t, tc.method+" "+tc.path, r, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := r.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}

	// 2.0 is the integer 2 (JSON Schema's integer type says so).
	r := do(t, http.MethodPost, base+"/orders/"+id+"/lines", `{"sku":"float","quantity":2.0,"unit_price_cents":1.5e2}`)
	if r.Status != http.StatusOK {
		t.Fatalf("quantity 2.0: %s", r)
	}
	if got := decode[api.Order](t, "2.0", r.Body); got.Lines[0].Quantity != 2 || got.Lines[0].UnitPriceCents != 150 {
		t.Errorf("2.0 and 1.5e2 came back as %+v", got.Lines[0])
	}

	// If-Match: a list naming the current version, and *.
	r = do(t, http.MethodPost, base+"/orders/"+id+"/lines", `{"sku":"b","quantity":1,"unit_price_cents":1}`, "If-Match", `W/"2", "1", "2"`)
	if r.Status != http.StatusOK {
		t.Errorf("If-Match list naming the current version: %s", r)
	}
	r = do(t, http.MethodPost, base+"/orders/"+id+"/confirm", "", "If-Match", `*`)
	if r.Status != http.StatusOK {
		t.Errorf("If-Match *: %s", r)
	}
}

func invalidIf(b bool) []string {
	if b {
		return invalid
	}
	return nil
}

// TestExamplesMatchTheService: what the examples in openapi.yaml show is what the
// service answers for the same input.
func TestExamplesMatchTheService(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	doc, err := testsupport.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	example := func(v any) map[string]any {
		raw, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return m
	}
	volatile := []string{"id", "placed_at", "updated_at", "detail", "instance"}
	same := func(where string, want map[string]any, body []byte) {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		for _, k := range volatile {
			delete(want, k)
			delete(got, k)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: the example\n  %v\nbut the service answers\n  %v", where, want, got)
		}
	}

	// The Order example: place it and add its lines.
	want := example(doc.Components.Schemas["Order"].Value.Example)
	place, _ := json.Marshal(map[string]any{"customer_id": want["customer_id"], "currency": want["currency"]})
	r := do(t, http.MethodPost, base+"/orders", string(place))
	o := decode[api.Order](t, "place", r.Body)
	for _, l := range want["lines"].([]any) {
		line, _ := json.Marshal(l)
		r = do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/lines", string(line))
	}
	same("schemas.Order.example", want, r.Body)

	// The examples of the error responses that a request can produce directly, in this
	// order: PreconditionFailed needs the order at version 3, after Conflict's confirm.
	for _, c := range []struct {
		name string
		send func() *response
	}{
		{"BadRequest", func() *response {
			return do(t, http.MethodPost, base+"/orders", `{"customer_id":"cust-42","currency":"eur"}`, invalid...)
		}},
		{"NotFound", func() *response { return do(t, http.MethodGet, base+"/orders/"+uuid.NewString(), "") }},
		{"Conflict", func() *response {
			do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/confirm", "")
			return do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/lines", `{"sku":"x","quantity":1,"unit_price_cents":1}`)
		}},
		{"PreconditionFailed", func() *response {
			return do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/cancel", "", "If-Match", `"2"`)
		}},
		{"UnsupportedMediaType", func() *response {
			return do(t, http.MethodPost, base+"/orders", `{}`, append(invalid, "Content-Type", "text/plain")...)
		}},
		{"MethodNotAllowed", func() *response { return do(t, http.MethodDelete, base+"/orders/"+o.Id.String(), "") }},
		{"NoSuchRoute", func() *response { return do(t, http.MethodGet, base+"/orders/"+o.Id.String()+"/refunds", "") }},
	} {
		name := c.name
		want := example(doc.Components.Responses[name].Value.Content.Get("application/problem+json").Example)
		got := c.send()
		if name == "PreconditionFailed" {
			want["current_version"] = float64(3) // the example's order is at version 3 too
		}
		same("responses."+name+".example", want, got.Body)
	}
}
