package e2e

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/api"
)

// TestIdempotentReplay: the same key with the same request replays the first response
// byte for byte and records nothing more; with another request it is refused.
func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	o := placeOrder(t, c, uniqueCustomer("idem"))
	lines := base + "/orders/" + o.Id.String() + "/lines"
	key := "e2e-" + uuid.NewString()

	first := do(t, http.MethodPost, lines, `{"sku":"SKU-1","quantity":2,"unit_price_cents":150}`, "Idempotency-Key", key)
	if first.Status != http.StatusOK {
		t.Fatalf("first: %s", first)
	}
	if first.Header.Get("Idempotency-Replayed") != "" {
		t.Errorf("first response is marked replayed")
	}
	// The same request, with other whitespace and key order: the same request.
	second := do(t, http.MethodPost, lines, "{ \"unit_price_cents\": 150, \"quantity\": 2,\n \"sku\": \"SKU-1\" }", "Idempotency-Key", key)
	if second.Status != first.Status || !bytes.Equal(second.Body, first.Body) {
		t.Errorf("replay differs:\n first:  %s\n second: %s", first, second)
	}
	if second.Header.Get("Idempotency-Replayed") != "true" {
		t.Errorf("replay: Idempotency-Replayed %q, want \"true\"", second.Header.Get("Idempotency-Replayed"))
	}
	if second.Header.Get("ETag") != first.Header.Get("ETag") || second.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
		t.Errorf("replay headers: ETag %q/%q Content-Type %q/%q", first.Header.Get("ETag"), second.Header.Get("ETag"),
			first.Header.Get("Content-Type"), second.Header.Get("Content-Type"))
	}
	if n := len(events(t, c, o.Id)); n != 2 {
		t.Errorf("%d events after a replayed line, want 2", n)
	}

	// Same key, different body: 422, nothing recorded.
	r := do(t, http.MethodPost, lines, `{"sku":"SKU-1","quantity":3,"unit_price_cents":150}`, "Idempotency-Key", key)
	checkProblem(t, "same key, other body", r, http.StatusUnprocessableEntity, "idempotency_key_reused")
	// Same key, same body, another order: a different request too.
	other := placeOrder(t, c, uniqueCustomer("idem"))
	r = do(t, http.MethodPost, base+"/orders/"+other.Id.String()+"/lines", `{"sku":"SKU-1","quantity":2,"unit_price_cents":150}`, "Idempotency-Key", key)
	checkProblem(t, "same key, other order", r, http.StatusUnprocessableEntity, "idempotency_key_reused")
	// Same key, another operation.
	r = do(t, http.MethodPost, base+"/orders/"+o.Id.String()+"/confirm", "", "Idempotency-Key", key)
	checkProblem(t, "same key, other operation", r, http.StatusUnprocessableEntity, "idempotency_key_reused")
	if n := len(events(t, c, o.Id)); n != 2 {
		t.Errorf("%d events after refused keys, want 2", n)
	}
	if n := len(events(t, c, other.Id)); n != 1 {
		t.Errorf("other order: %d events, want 1", n)
	}

	// A rejected command is replayed as well: confirming an order without lines.
	empty := placeOrder(t, c, uniqueCustomer("idem"))
	k2 := "e2e-" + uuid.NewString()
	a := do(t, http.MethodPost, base+"/orders/"+empty.Id.String()+"/confirm", "", "Idempotency-Key", k2)
	checkProblem(t, "confirm empty", a, http.StatusConflict, "order_has_no_lines")
	b := do(t, http.MethodPost, base+"/orders/"+empty.Id.String()+"/confirm", "", "Idempotency-Key", k2)
	checkProblem(t, "confirm empty again", b, http.StatusConflict, "order_has_no_lines")
	if !bytes.Equal(a.Body, b.Body) || b.Header.Get("Idempotency-Replayed") != "true" {
		t.Errorf("rejected command not replayed: %s / %s (replayed %q)", a, b, b.Header.Get("Idempotency-Replayed"))
	}
}

// TestIdempotentConcurrentRequests: 20 identical requests with one key at once run the
// command once; all get the same answer.
func TestIdempotentConcurrentRequests(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	o := placeOrder(t, c, uniqueCustomer("idem-conc"))
	lines := base + "/orders/" + o.Id.String() + "/lines"
	key := "e2e-" + uuid.NewString()

	const n = 20
	results := make([]*response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r, err := tryDo(http.MethodPost, lines, `{"sku":"SKU-C","quantity":1,"unit_price_cents":999}`, "Idempotency-Key", key)
			if err != nil {
				t.Error(err)
				r = &response{}
			}
			results[i] = r
		})
	}
	close(start)
	wg.Wait()

	replayed := 0
	for i, r := range results {
		if r.Status != results[0].Status || !bytes.Equal(r.Body, results[0].Body) {
			t.Errorf("response %d differs:\n %s\n %s", i, results[0], r)
		}
		if r.Header.Get("Idempotency-Replayed") == "true" {
			replayed++
		}
	}
	if results[0].Status != http.StatusOK {
		t.Errorf("status %d, want 200: %s", results[0].Status, results[0].Body)
	}
	if replayed != n-1 {
		t.Errorf("%d responses marked replayed, want %d", replayed, n-1)
	}
	evs := events(t, c, o.Id)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2 (placed + exactly one line)", len(evs))
	}
	if evs[1].Type != "OrderLineAdded" || evs[1].Data["sku"] != "SKU-C" {
		t.Errorf("event %+v", evs[1])
	}
}

// TestIdempotentPlaceWithoutID: POST /orders without an id but with a key, twice,
// creates one order and answers with its id both times.
func TestIdempotentPlaceWithoutID(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	customer := uniqueCustomer("idem-place")
	key := "e2e-" + uuid.NewString()
	body := api.PlaceOrderRequest{CustomerId: &customer, Currency: "EUR"}

	var got []*api.PlaceOrderResponse
	for range 2 {
		r, err := c.PlaceOrderWithResponse(context.Background(), &api.PlaceOrderParams{IdempotencyKey: &key}, body)
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != http.StatusCreated || r.JSON201 == nil {
			t.Fatalf("place: %d %s", r.StatusCode(), r.Body)
		}
		got = append(got, r)
	}
	if got[0].JSON201.Id != got[1].JSON201.Id || !bytes.Equal(got[0].Body, got[1].Body) {
		t.Errorf("two answers for one key:\n %s\n %s", got[0].Body, got[1].Body)
	}
	if got[1].HTTPResponse.Header.Get("Location") != "/orders/"+got[0].JSON201.Id.String() ||
		got[1].HTTPResponse.Header.Get("ETag") != `"1"` || got[1].HTTPResponse.Header.Get("Idempotency-Replayed") != "true" {
		t.Errorf("replayed headers: %v", got[1].HTTPResponse.Header)
	}
	list, err := c.ListOrdersWithResponse(context.Background(), &api.ListOrdersParams{CustomerId: &customer})
	if err != nil {
		t.Fatal(err)
	}
	if list.JSON200 == nil || len(list.JSON200.Items) != 1 {
		t.Errorf("orders of the customer: %d %s, want exactly one", list.StatusCode(), list.Body)
	}
}
