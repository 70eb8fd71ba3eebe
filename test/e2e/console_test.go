package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/example/orders/infrastructure/console"
)

// TestConsoleIsServedWithoutToken: the binary serves the console's files to anyone
// (they hold no data), under the console's strict policy, and leaves every other
// path to the API: a missing file is the API's 404 problem, the API still wants a
// token. The browser tests are in test/lab/console.
func TestConsoleIsServedWithoutToken(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	get := func(path string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, string(body)
	}
	for _, path := range []string{"/console", "/console/", "/console/console.js"} {
		status, h, body := get(path)
		if status != http.StatusOK || h.Get("Content-Security-Policy") != console.CSP || body == "" {
			t.Errorf("GET %s: %d, CSP %q", path, status, h.Get("Content-Security-Policy"))
		}
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
	if status, _, body := get("/console/missing.js"); status != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
		t.Errorf("GET /console/missing.js: %d %s, want the API's 404 problem", status, body)
	}
	if status, _, _ := get("/consumers"); status != http.StatusUnauthorized {
		t.Errorf("GET /consumers without a token: %d, want 401", status)
	}
}
