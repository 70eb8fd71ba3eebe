package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
	"github.com/example/orders/test/testsupport"
)

// TestParametersRefuseControlCharacters: in every operation of the contract, each path
// and query parameter given a control character (NUL, C0, DEL, C1) or invalid UTF-8
// answers 400 validation_failed naming that parameter, before anything reaches a
// handler or the database (GET /customers/a%00b/summary answered 500, SQLSTATE 22021).
// Printable non-ASCII text is not refused.
func TestParametersRefuseControlCharacters(t *testing.T) {
	h, err := New(application.App{}, alwaysReady{}, nil, Config{BodyLimit: 4096, RequestTimeout: time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	valid := func(path string) string {
		if strings.HasPrefix(path, "/customers/") {
			return "cust-1"
		}
		return "5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11"
	}
	checked := 0
	for _, pt := range testsupport.ParameterTargets(doc, valid, []string{"a%00b", "%01", "x%0Ay", "%7F", "%C2%85", "%ff"}) {
		expectRefused(t, h, pt.Method, pt.Target, pt.Param)
		checked++
	}
	if checked == 0 {
		t.Fatal("the contract has no path or query parameters?")
	}
	// An unknown query parameter is refused by its name, and one whose name is
	// unprintable as "query".
	expectRefused(t, h, http.MethodGet, "/orders?utm_source=%00", "utm_source")
	expectRefused(t, h, http.MethodGet, "/orders?a%00b=1", "query")
	expectRefused(t, h, http.MethodHead, "/customers/a%00b/summary", "id")
	// Printable text, accents and emoji included, is the schema's business.
	for _, target := range []string{"/customers/caf%C3%A9%F0%9F%98%80/summary", "/orders?customer_id=Jos%C3%A9%20Mar%C3%ADa"} {
		r := serve(h, http.MethodGet, target)
		if r.Code == http.StatusBadRequest && strings.Contains(r.Body.String(), "control characters") {
			t.Errorf("GET %s: refused printable text: %s", target, r.Body)
		}
	}
}

func expectRefused(t *testing.T, h http.Handler, method, target, param string) {
	t.Helper()
	r := serve(h, method, target)
	if method == http.MethodHead {
		if r.Code != http.StatusBadRequest {
			t.Errorf("%s %s: %d, want 400", method, target, r.Code)
		}
		return
	}
	var p struct {
		Code   string
		Errors []api.FieldError
	}
	if r.Code != http.StatusBadRequest || r.Header().Get("Content-Type") != problemContentType || json.Unmarshal(r.Body.Bytes(), &p) != nil || p.Code != "validation_failed" {
		t.Errorf("%s %s: %d %s %s, want 400 validation_failed", method, target, r.Code, r.Header().Get("Content-Type"), r.Body)
		return
	}
	for _, e := range p.Errors {
		if e.Field == param && strings.Contains(e.Message, "control character") {
			return
		}
	}
	t.Errorf("%s %s: %s does not name %q as holding control characters", method, target, r.Body, param)
}
