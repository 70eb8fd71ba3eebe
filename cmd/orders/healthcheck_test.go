package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	status := map[string]int{"/readyz": http.StatusOK, "/healthz": http.StatusNoContent, "/down": http.StatusServiceUnavailable, "/moved": http.StatusMovedPermanently}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == "/moved" {
			w.Header().Set("Location", "/down")
		}
		w.WriteHeader(status[r.URL.Path])
	}))
	defer srv.Close()
	defer close(release)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		out  string // stdout must contain it
	}{
		{"default URL from LISTEN_ADDR", map[string]string{"LISTEN_ADDR": ":" + port}, nil, 0, "/readyz: 200 OK"},
		{"explicit URL, any 2xx", nil, []string{"--url", srv.URL + "/healthz"}, 0, "204 No Content"},
		{"503", nil, []string{"--url", srv.URL + "/down"}, 1, ""},
		{"a redirect is followed", nil, []string{"--url", srv.URL + "/moved"}, 1, ""},
		{"404", nil, []string{"--url", srv.URL + "/nothing-here"}, 1, ""},
		{"no answer in time", nil, []string{"--url", srv.URL + "/hang", "--timeout", "200ms"}, 1, ""},
		{"nobody listening", nil, []string{"--url", "http://127.0.0.1:1/readyz"}, 1, ""},
		{"not a URL", nil, []string{"--url", "::"}, 1, ""},
		{"stray argument", nil, []string{"stray"}, 1, ""},
	} {
		start := time.Now()
		out, errOut, code := orders(t, c.env, append([]string{"healthcheck"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d", c.name, code, out, errOut, c.code)
		}
		if code != 0 && !strings.HasPrefix(errOut, "orders: healthcheck: ") {
			t.Errorf("%s: stderr %q, want the reason", c.name, errOut)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v", c.name, d)
		}
	}
}

func TestDefaultHealthcheckURL(t *testing.T) {
	t.Parallel()
	for listen, want := range map[string]string{
		"":               "http://127.0.0.1:8080/readyz",
		":8080":          "http://127.0.0.1:8080/readyz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/readyz",
		"[::]:9000":      "http://[::1]:9000/readyz",
		"10.1.2.3:8080":  "http://10.1.2.3:8080/readyz",
		"localhost:8081": "http://localhost:8081/readyz",
		"garbage":        "http://127.0.0.1:8080/readyz",
	} {
		if got := defaultHealthcheckURL(listen); got != want {
			t.Errorf("defaultHealthcheckURL(%q) = %q, want %q", listen, got, want)
		}
	}
}
