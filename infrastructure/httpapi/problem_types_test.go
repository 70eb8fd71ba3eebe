package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
)

// TestProblemCatalogue: the service's problem types (problem_types.go) are exactly
// openapi.yaml's x-problem-types, each has a page docs/problems/<code>.md, and every
// error the service maps (problemFor) comes out with a catalogued code, type and
// title.
func TestProblemCatalogue(t *testing.T) {
	doc, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(doc.Extensions["x-problem-types"])
	var spec []problemType
	if err := json.Unmarshal(raw, &spec); err != nil || len(spec) == 0 {
		t.Fatalf("openapi.yaml x-problem-types missing or malformed: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range spec {
		seen[p.Code] = true
		if got, ok := problemTypes[p.Code]; !ok || got != p {
			t.Errorf("openapi.yaml lists %+v; problem_types.go has %+v", p, got)
		}
		if _, err := os.Stat(filepath.Join("..", "..", "docs", "problems", p.Code+".md")); err != nil {
			t.Errorf("problem %q has no page: %v", p.Code, err)
		}
	}
	for code := range problemTypes {
		if !seen[code] {
			t.Errorf("problem_types.go has %q, openapi.yaml's x-problem-types does not", code)
		}
	}

	errs := []error{
		&order.ValidationError{Fields: []order.FieldError{{Field: "x", Message: "y"}}},
		badRequest("bad"),
		&requestError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", title: "t", detail: "d"},
		&requestError{status: http.StatusServiceUnavailable, code: "not_ready", title: "t", detail: "d"},
		&http.MaxBytesError{Limit: 1},
		order.ErrNotFound,
		order.ErrAlreadyPlaced, order.ErrNotPending, order.ErrNoLines, order.ErrCancelled, order.ErrTotalTooLarge,
		&application.VersionConflictError{Expected: 1, Actual: 2},
		&application.VersionConflictError{Expected: 1, Actual: 2, Retried: true},
		application.ErrIdempotencyKeyReused,
		application.ErrUnauthenticated, application.ErrForbidden, &authError{}, &authError{invalidToken: true},
		application.ErrOutcomeUnknown,
		application.ErrUnavailable,
		echo.NewHTTPError(http.StatusNotFound),
		echo.NewHTTPError(http.StatusMethodNotAllowed),
		errors.New("anything else"),
	}
	for _, err := range errs {
		p := problemFor(err, "/x").body
		if p.Code == nil {
			t.Errorf("%v: problem without a code", err)
			continue
		}
		want, ok := problemTypes[*p.Code]
		if !ok || p.Type != want.Type || p.Title != want.Title || p.Status != want.Status {
			t.Errorf("%v: problem %s %q %q %d is not the catalogue's %+v", err, *p.Code, p.Type, p.Title, p.Status, want)
		}
	}
}
