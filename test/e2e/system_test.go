package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/test/pgtest"
)

// TestSystemEndpoints: liveness, readiness and the contract itself.
func TestSystemEndpoints(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	c := newClient(t, base)
	ctx := context.Background()

	h, err := c.GetHealthWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.StatusCode() != http.StatusOK || h.JSON200 == nil || h.JSON200.Status != api.HealthStatusOk {
		t.Errorf("healthz: %d %s", h.StatusCode(), h.Body)
	}
	if raw := decode[map[string]any](t, "healthz", h.Body); len(raw) != 1 || raw["status"] != "ok" {
		t.Errorf("healthz body %s, want {\"status\":\"ok\"}", h.Body)
	}

	r, err := c.GetReadinessWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode() != http.StatusOK || r.JSON200 == nil || r.JSON200.Status != api.ReadinessStatusReady {
		t.Errorf("readyz: %d %s", r.StatusCode(), r.Body)
	}

	want, err := os.ReadFile(filepath.Join(moduleRoot, "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec := do(t, http.MethodGet, base+"/openapi.yaml", "")
	if spec.Status != http.StatusOK {
		t.Fatalf("openapi.yaml: %d", spec.Status)
	}
	if !bytes.Equal(spec.Body, want) {
		t.Errorf("GET /openapi.yaml (%d bytes) differs from the repository's openapi.yaml (%d bytes)", len(spec.Body), len(want))
	}
	if ct := spec.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("openapi.yaml Content-Type %q, want application/yaml", ct)
	}
}

// TestRequestIDs: a sane X-Request-ID is echoed, anything else is replaced by a
// generated one, and the id is on the server's JSON log line of the request.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	s := startServerOn(t, pgtest.NewDatabase(t), nil)

	for _, tc := range []struct {
		sent string
		echo bool
	}{
		{"abc-123", true},
		{"trace_01.Z:9", true},
		{strings.Repeat("a", 128), true},
		{"", false},
		{"has spaces", false},
		{"semi;colon", false},
		{"ünïcode", false},
		{strings.Repeat("a", 129), false},
	} {
		var r *response
		if tc.sent == "" {
			r = do(t, http.MethodGet, s.URL+"/healthz", "")
		} else {
			r = do(t, http.MethodGet, s.URL+"/healthz", "", "X-Request-ID", tc.sent)
		}
		got := r.Header.Get("X-Request-ID")
		if tc.echo && got != tc.sent {
			t.Errorf("sent %q, got %q back; want it echoed", tc.sent, got)
		}
		if !tc.echo {
			if _, err := uuid.Parse(got); err != nil || got == tc.sent {
				t.Errorf("sent %q, got %q back; want a generated UUID", tc.sent, got)
			}
		}
	}
	// Every response carries one, errors included.
	if r := do(t, http.MethodGet, s.URL+"/orders/not-a-uuid", "", invalid...); r.Header.Get("X-Request-ID") == "" {
		t.Errorf("a 400 has no X-Request-ID")
	}

	// The server's stdout is JSON lines; the access log line of a request carries its id.
	id := "e2e-log-" + uuid.NewString()[:8]
	placed := do(t, http.MethodPost, s.URL+"/orders", `{"customer_id":"log","currency":"EUR"}`, "X-Request-ID", id)
	if placed.Status != http.StatusCreated {
		t.Fatalf("place: %s", placed)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		line, ok := findLogLine(t, s.out.String(), id)
		if ok {
			if line["msg"] != "request" || line["method"] != "POST" || line["path"] != "/orders" || line["status"] != float64(201) || line["level"] != "INFO" {
				t.Errorf("access log line %v", line)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with request_id %q in the server output", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findLogLine parses the server output as JSON lines and returns the line whose
// request_id is id; every line must be JSON.
func findLogLine(t *testing.T, out, id string) (map[string]any, bool) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for _, l := range lines[:len(lines)-1] { // the last one is "" or still being written
		if l == "" {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Errorf("server output line is not JSON: %q", l)
			continue
		}
		if line["request_id"] == id && line["msg"] == "request" {
			return line, true
		}
	}
	return nil, false
}

// TestMigrateOnStart: on an empty database a server started without migrating is alive
// but not ready; one started with MIGRATE_ON_START=true migrates it and is ready, and
// from then on the first one is ready too.
func TestMigrateOnStart(t *testing.T) {
	t.Parallel()
	template := pgtest.NewDatabase(t) // only for the server's address and credentials
	name := "e2e_empty_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	empty := withDatabase(t, template, name)
	adminExec(t, template, "CREATE DATABASE "+name)
	t.Cleanup(func() { dropDatabase(t, empty) }) // runs after both servers have stopped

	plain := startProcess(t, empty, nil, []string{"serve"}, "/healthz")
	r := do(t, http.MethodGet, plain.URL+"/readyz", "")
	checkProblem(t, "readyz before migrations", r, http.StatusServiceUnavailable, "")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("readyz 503 without Retry-After")
	}

	migrating := startProcess(t, empty, map[string]string{"MIGRATE_ON_START": "true"}, []string{"serve"}, "/readyz")
	c := newClient(t, migrating.URL)
	o := placeOrder(t, c, uniqueCustomer("migrated"))

	if r := do(t, http.MethodGet, plain.URL+"/readyz", ""); r.Status != http.StatusOK {
		t.Errorf("readyz of the first server after migrating: %s", r)
	}
	if r := getOrder(t, plain.URL, o.Id); r.Status != http.StatusOK {
		t.Errorf("first server reading an order placed through the second: %s", r)
	}
	if !strings.Contains(migrating.out.String(), "database at version") {
		t.Errorf("MIGRATE_ON_START=true did not log the migration")
	}
}
