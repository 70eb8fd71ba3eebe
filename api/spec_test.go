package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := GetSwagger()
	if err != nil {
		t.Fatalf("GetSwagger: %v", err)
	}
	return doc
}

// TestSpecValid checks that the embedded contract is a valid OpenAPI 3
// document (including its examples) according to kin-openapi, which is also
// what the request validator uses.
func TestSpecValid(t *testing.T) {
	doc := loadSpec(t)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("spec is invalid: %v", err)
	}
}

// TestSpecOperations checks conventions every operation must follow.
func TestSpecOperations(t *testing.T) {
	doc := loadSpec(t)
	seen := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: missing operationId", where)
			} else if prev, dup := seen[op.OperationID]; dup {
				t.Errorf("%s: operationId %q already used by %s", where, op.OperationID, prev)
			} else {
				seen[op.OperationID] = where
			}
			if op.Responses == nil || op.Responses.Default() == nil {
				t.Errorf("%s: no default response", where)
			}
			if method == http.MethodPost && (op.Responses == nil || op.Responses.Status(http.StatusBadRequest) == nil) {
				t.Errorf("%s: no 400 response", where)
			}
		}
	}
	// Every operation is one method of the generated server interface, and no more:
	// derived from the code, not a count written down here.
	if want := reflect.TypeOf((*StrictServerInterface)(nil)).Elem().NumMethod(); len(seen) != want {
		t.Errorf("got %d operations, the server interface has %d methods: %v", len(seen), want, seen)
	}
}

// TestEmbeddedSpecUpToDate fails when ../openapi.yaml was changed without
// regenerating api.gen.go (`make generate`).
func TestEmbeddedSpecUpToDate(t *testing.T) {
	embedded, err := json.Marshal(loadSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := openapi3.NewLoader().LoadFromFile("../openapi.yaml")
	if err != nil {
		t.Fatalf("load ../openapi.yaml: %v", err)
	}
	onDisk, err := json.Marshal(fromFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(embedded, onDisk) {
		t.Fatal("embedded spec differs from ../openapi.yaml; run `make generate`")
	}
}

// TestRequestValidation pins down how the contract's constraints behave in
// kin-openapi's request validator.
func TestRequestValidation(t *testing.T) {
	// kin-openapi does not check format: uuid unless told to; the server's
	// request validator must register it the same way.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	doc := loadSpec(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	const id = "5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11"
	tests := []struct {
		name    string
		method  string
		target  string
		body    string
		headers map[string]string
		ok      bool
	}{
		{name: "place minimal", method: "POST", target: "/orders", body: `{"customer_id":"c","currency":"EUR"}`, ok: true},
		{name: "place with id", method: "POST", target: "/orders", body: `{"id":"` + id + `","customer_id":"c","currency":"EUR"}`, ok: true},
		{name: "customer_id 64 multibyte chars", method: "POST", target: "/orders", body: `{"customer_id":"` + strings.Repeat("é", 64) + `","currency":"EUR"}`, ok: true},
		{name: "customer_id 65 chars", method: "POST", target: "/orders", body: `{"customer_id":"` + strings.Repeat("é", 65) + `","currency":"EUR"}`},
		{name: "empty customer_id", method: "POST", target: "/orders", body: `{"customer_id":"","currency":"EUR"}`},
		{name: "lowercase currency", method: "POST", target: "/orders", body: `{"customer_id":"c","currency":"eur"}`},
		{name: "unknown field", method: "POST", target: "/orders", body: `{"customer_id":"c","currency":"EUR","x":1}`},
		{name: "idempotency key ok", method: "POST", target: "/orders", body: `{"customer_id":"c","currency":"EUR"}`, headers: map[string]string{"Idempotency-Key": "abc-123_~!"}, ok: true},
		{name: "idempotency key with space", method: "POST", target: "/orders", body: `{"customer_id":"c","currency":"EUR"}`, headers: map[string]string{"Idempotency-Key": "a b"}, ok: true},
		{name: "idempotency key with non-ASCII", method: "POST", target: "/orders", body: `{"customer_id":"c","currency":"EUR"}`, headers: map[string]string{"Idempotency-Key": "clé"}},
		{name: "idempotency key too long", method: "POST", target: "/orders", body: `{"customer_id":"c","currency":"EUR"}`, headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}},
		{name: "line ok", method: "POST", target: "/orders/" + id + "/lines", body: `{"sku":"S","quantity":1000,"unit_price_cents":0}`, headers: map[string]string{"If-Match": `"3"`}, ok: true},
		{name: "line quantity 0", method: "POST", target: "/orders/" + id + "/lines", body: `{"sku":"S","quantity":0,"unit_price_cents":0}`},
		{name: "line price too high", method: "POST", target: "/orders/" + id + "/lines", body: `{"sku":"S","quantity":1,"unit_price_cents":100000001}`},
		{name: "line missing sku", method: "POST", target: "/orders/" + id + "/lines", body: `{"quantity":1,"unit_price_cents":1}`},
		{name: "bad order id", method: "POST", target: "/orders/nope/confirm"},
		{name: "confirm", method: "POST", target: "/orders/" + id + "/confirm", ok: true},
		{name: "cancel without body", method: "POST", target: "/orders/" + id + "/cancel", ok: true},
		{name: "cancel with reason", method: "POST", target: "/orders/" + id + "/cancel", body: `{"reason":"r"}`, ok: true},
		{name: "cancel reason too long", method: "POST", target: "/orders/" + id + "/cancel", body: `{"reason":"` + strings.Repeat("r", 501) + `"}`},
		{name: "get at version", method: "GET", target: "/orders/" + id + "?version=2", ok: true},
		{name: "get version 0", method: "GET", target: "/orders/" + id + "?version=0"},
		{name: "get at time", method: "GET", target: "/orders/" + id + "?at=2025-01-15T10:31:00Z", ok: true},
		{name: "get at garbage", method: "GET", target: "/orders/" + id + "?at=yesterday"},
		// Both at once is valid per the contract; the server answers 400.
		{name: "get version and at", method: "GET", target: "/orders/" + id + "?version=2&at=2025-01-15T10:31:00Z", ok: true},
		{name: "get if-none-match", method: "GET", target: "/orders/" + id, headers: map[string]string{"If-None-Match": `"3"`}, ok: true},
		{name: "place with bad id", method: "POST", target: "/orders", body: `{"id":"nope","customer_id":"c","currency":"EUR"}`},
		{name: "place with v7 id", method: "POST", target: "/orders", body: `{"id":"01890a5d-ac96-774b-bcce-b302099a8057","customer_id":"c","currency":"EUR"}`, ok: true},
		{name: "correlation id too long", method: "POST", target: "/orders/" + id + "/confirm", headers: map[string]string{"X-Correlation-ID": strings.Repeat("c", 129)}},
		{name: "wrong content type", method: "POST", target: "/orders/" + id + "/lines", body: `sku=S`, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		{name: "list", method: "GET", target: "/orders?status=pending&customer_id=c&limit=100", ok: true},
		{name: "list bad status", method: "GET", target: "/orders?status=shipped"},
		{name: "list limit 101", method: "GET", target: "/orders?limit=101"},
		{name: "list cursor too long", method: "GET", target: "/orders?cursor=" + strings.Repeat("c", 201)},
		{name: "events", method: "GET", target: "/orders/" + id + "/events", ok: true},
		{name: "healthz", method: "GET", target: "/healthz", ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			// (tc.headers may override Content-Type.)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			route, pathParams, err := router.FindRoute(req)
			if err != nil {
				if tc.ok {
					t.Fatalf("find route: %v", err)
				}
				return
			}
			err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
				Request:    req,
				PathParams: pathParams,
				Route:      route,
				// Authentication is the service's (bearerAuth); this checks the form.
				Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			})
			if tc.ok && err != nil {
				t.Errorf("want valid, got %v", err)
			}
			if !tc.ok && err == nil {
				t.Errorf("want invalid, got valid")
			}
		})
	}
}

// TestServedSpecIsTheContract fails when api/openapi.yaml, which GET /openapi.yaml
// serves, is not a copy of ../openapi.yaml; run `make generate`.
func TestServedSpecIsTheContract(t *testing.T) {
	want, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := SpecYAML()
	if !bytes.Equal(got, want) {
		t.Fatal("api/openapi.yaml differs from ../openapi.yaml; run `make generate`")
	}
}
