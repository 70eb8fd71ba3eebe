package httpapi

import (
	"net/http"
	"strings"
)

// problemType is one entry of the problem-type catalogue: a code, its type URI and
// title, always sent together. The contract lists the same entries in openapi.yaml
// (x-problem-types) and docs/problems/<code>.md explains each; TestProblemCatalogue
// keeps the three in agreement.
type problemType struct {
	Code   string
	Type   string
	Title  string
	Status int
}

var problemTypes = func() map[string]problemType {
	m := map[string]problemType{}
	for _, p := range []struct {
		code, title string
		status      int
	}{
		{"validation_failed", "Invalid request", http.StatusBadRequest},
		{"order_not_found", "Order not found", http.StatusNotFound},
		{"not_found", "Not found", http.StatusNotFound},
		{"method_not_allowed", "Method not allowed", http.StatusMethodNotAllowed},
		{"order_already_placed", "Order already placed", http.StatusConflict},
		{"order_not_pending", "Order is not pending", http.StatusConflict},
		{"order_has_no_lines", "Order has no lines", http.StatusConflict},
		{"order_cancelled", "Order is cancelled", http.StatusConflict},
		{"order_total_too_large", "Order total too large", http.StatusConflict},
		{"concurrency_conflict", "Concurrent modification", http.StatusConflict},
		{"version_mismatch", "Version mismatch", http.StatusPreconditionFailed},
		{"payload_too_large", "Request body too large", http.StatusRequestEntityTooLarge},
		{"unsupported_media_type", "Unsupported media type", http.StatusUnsupportedMediaType},
		{"idempotency_key_reused", "Idempotency key reused", http.StatusUnprocessableEntity},
		{"unavailable", "Service unavailable", http.StatusServiceUnavailable},
		{"outcome_unknown", "Outcome unknown", http.StatusServiceUnavailable},
		{"not_ready", "Not ready", http.StatusServiceUnavailable},
		{"read_model_behind", "Read model behind", http.StatusServiceUnavailable},
		{"internal_error", "Internal error", http.StatusInternalServerError},
	} {
		m[p.code] = problemType{Code: p.code, Type: "/problems/" + strings.ReplaceAll(p.code, "_", "-"), Title: p.title, Status: p.status}
	}
	return m
}()

// problemTypeOf returns the type URI and title of a code. A code missing from the
// catalogue (a bug TestProblemCatalogue and the contract checks exist to catch) gets
// about:blank and fallbackTitle, as RFC 9457 prescribes for an untyped problem.
func problemTypeOf(code, fallbackTitle string) (typeURI, title string) {
	if p, ok := problemTypes[code]; ok {
		return p.Type, p.Title
	}
	return "about:blank", fallbackTitle
}
