package httpapi

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
)

// TestProblemCatalogue: every entry of openapi.yaml's x-problem-types (the service's
// catalogue) is well formed and has a page docs/problems/<code>.md, and every
// error the transport maps itself (problemFor) comes out with a catalogued code, type
// and title. The aggregates' domain errors are checked when the service starts
// (CheckProblems, TestCheckProblems).
func TestProblemCatalogue(t *testing.T) {
	for code, p := range problemTypes {
		if p.Code != code || p.Type != "/problems/"+strings.ReplaceAll(code, "_", "-") || p.Title == "" || p.Status < 400 {
			t.Errorf("x-problem-types entry %+v: want type /problems/<code with dashes>, a title and a 4xx/5xx status", p)
		}
		if _, err := os.Stat(filepath.Join("..", "..", "docs", "problems", code+".md")); err != nil {
			t.Errorf("problem %q has no page: %v", code, err)
		}
	}

	errs := []error{
		&kit.ValidationError{Fields: []kit.FieldError{{Field: "x", Message: "y"}}},
		badRequest("bad"),
		&requestError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", title: "t", detail: "d"},
		&requestError{status: http.StatusServiceUnavailable, code: "not_ready", title: "t", detail: "d"},
		&requestError{status: http.StatusTooManyRequests, code: "too_many_caller_streams", title: "Too many streams for this caller", detail: "d"},
		&http.MaxBytesError{Limit: 1},
		&appkit.VersionConflictError{Expected: 1, Actual: 2},
		&appkit.VersionConflictError{Expected: 1, Actual: 2, Retried: true},
		appkit.ErrIdempotencyKeyReused,
		appkit.ErrUnauthenticated, appkit.ErrForbidden, &authError{}, &authError{invalidToken: true},
		appkit.ErrOutcomeUnknown,
		appkit.ErrUnavailable,
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

// TestCheckProblems: a domain error whose code the catalogue lacks stops the service at
// start, and a catalogued one passes.
func TestCheckProblems(t *testing.T) {
	known := &kit.ConflictError{Resource: "order", Code: "order_not_pending", Message: "m"}
	unknown := &kit.ConflictError{Resource: "not_registered", Code: "not_registered_voided", Message: "m"}
	if err := CheckProblems([]error{known, kit.NotFound("order"), &kit.ValidationError{}}); err != nil {
		t.Fatal(err)
	}
	err := CheckProblems([]error{known, unknown, kit.NotFound("not_registered")})
	if err == nil || !strings.Contains(err.Error(), `"not_registered_voided"`) || !strings.Contains(err.Error(), `"not_registered_not_found"`) || strings.Contains(err.Error(), "order_not_pending") {
		t.Fatalf("err = %v, want both unregistered codes named, and only them", err)
	}
}
