package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/infrastructure/logging"
	"github.com/example/orders/test/pgtest"
)

// freeAddr returns a loopback address nobody listens on (for serve's listeners).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// startServe runs `serve` with cfg's listeners until the test ends, once /healthz
// answers.
func startServe(t *testing.T, cfg Config) {
	t.Helper()
	log, err := logging.New(io.Discard, "error")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, log) }()
	ended := false // a serve that ended has sent its error already: the cleanup must not wait for it
	t.Cleanup(func() {
		cancel()
		if ended {
			return
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + cfg.ListenAddr + "/healthz"); err == nil {
			_ = res.Body.Close()
			return
		}
		select {
		case err := <-done:
			ended = true
			t.Fatalf("serve ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve does not answer")
		}
	}
}

// raw sends method and the request target exactly as given (no cleaning, no
// redirects followed) and returns the answer's status and headers.
func raw(t *testing.T, method, addr, target string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = target
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode, res.Header
}

// TestEveryResponseHasTheSecurityHeaders walks what either listener answers: routes,
// 401, 404, 405, paths an http.ServeMux redirected (//x, /a/../b: a text/html 307
// without the headers, issue 19), /metrics on the main listener and on METRICS_ADDR.
// Every answer carries the security headers, none is a redirect, and every error is a
// problem document. With METRICS_ADDR set, the main listener does not serve /metrics.
func TestEveryResponseHasTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	type answer struct {
		method, target string
		status         int // 0: any 4xx
	}
	api := []answer{
		{"GET", "/healthz", 200}, {"HEAD", "/healthz", 200}, {"GET", "/readyz", 200}, {"GET", "/openapi.yaml", 200},
		{"GET", "/orders", 401}, {"GET", "/no/such/path", 404}, {"PUT", "/healthz", 405}, {"FOOBAR", "/healthz", 405},
		{"GET", "//x", 0}, {"GET", "//healthz", 0}, {"GET", "/orders/../healthz", 0}, {"GET", "/./healthz", 0},
		{"GET", "/healthz/", 0}, {"POST", "/orders/%2e%2e/healthz", 0}, {"GET", "//metrics", 0}, {"GET", "/a/../metrics", 0},
		{"GET", "/metrics/", 0}, {"POST", "/metrics", 0},
	}
	for _, separate := range []bool{false, true} {
		cfg := defaultConfig()
		cfg.DatabaseURL, cfg.MaxConns = url, 4
		cfg.AuthHS256Secret = strings.Repeat("s", 32)
		cfg.ListenAddr = freeAddr(t)
		main := append([]answer{}, api...)
		var metricsListener []answer
		if separate {
			cfg.MetricsAddr = freeAddr(t)
			main = append(main, answer{"GET", "/metrics", 404})
			metricsListener = []answer{
				{"GET", "/metrics", 200}, {"HEAD", "/metrics", 200}, {"POST", "/metrics", 405}, {"GET", "/", 404},
				{"GET", "/healthz", 404}, {"GET", "//metrics", 404}, {"GET", "/a/../metrics", 404}, {"GET", "/metrics/", 404},
			}
		} else {
			main = append(main, answer{"GET", "/metrics", 200}, answer{"HEAD", "/metrics", 200})
		}
		startServe(t, cfg)
		for addr, answers := range map[string][]answer{cfg.ListenAddr: main, cfg.MetricsAddr: metricsListener} {
			for _, a := range answers {
				status, header := raw(t, a.method, addr, a.target)
				where := a.method + " " + a.target + " on " + map[bool]string{true: "METRICS_ADDR", false: "LISTEN_ADDR"}[addr == cfg.MetricsAddr]
				if separate {
					where += " (METRICS_ADDR set)"
				}
				switch {
				case a.status != 0 && status != a.status:
					t.Errorf("%s: %d, want %d", where, status, a.status)
				case a.status == 0 && (status < 400 || status > 499):
					t.Errorf("%s: %d %q (Location %q), want a 4xx", where, status, header.Get("Content-Type"), header.Get("Location"))
				}
				if ct := header.Get("Content-Type"); status >= 400 && ct != "application/problem+json" {
					t.Errorf("%s: %d with Content-Type %q, want a problem document", where, status, ct)
				}
				for h, want := range map[string]string{
					"X-Content-Type-Options":  "nosniff",
					"Referrer-Policy":         "no-referrer",
					"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
				} {
					if got := header.Get(h); got != want {
						t.Errorf("%s: %d with %s %q, want %q", where, status, h, got, want)
					}
				}
			}
		}
	}
}
