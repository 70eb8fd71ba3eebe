// Package console drives the staff console (/console, infrastructure/console) in a
// real headless Chromium against the binary on real PostgreSQL: what a user sees and
// does, through the public API only. Chromium comes from the distribution (Debian:
// apt-get install chromium); without it the tests skip, except in CI (CI=true), where
// they fail. With CONSOLE_SCREENSHOTS=dir set (make console-screenshots), the
// screenshots the docs show are written there too.
package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/test/lab/internal/repo"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// binPath is the service's binary, built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	root, err := repo.Root()
	if err == nil {
		binPath, err = testsupport.BuildService(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(2)
	}
	pgtest.Main(m)
}

// startService runs `serve --migrate` on a fresh database with the consumers on (the
// console shows their work) and the settings in extra, and returns its base URL; it is
// stopped when the test ends, and its output logged if the test failed.
func startService(t *testing.T, extra map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	env, err := testsupport.ServiceEnv(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	env["LISTEN_ADDR"], env["RUN_CONSUMERS"], env["LOG_LEVEL"] = addr, "true", "warn"
	for k, v := range extra {
		env[k] = v
	}
	cmd := exec.Command(binPath, "serve", "--migrate")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &testsupport.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("service output:\n%s", out)
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil { //nolint:noctx // a probe of a local process
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-done:
			t.Fatalf("the service exited before it was ready:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service was not ready within 30s:\n%s", out)
		}
	}
}

// call sends a request to the API with token and returns the status, the
// headers and the body decoded into a map.
func call(t *testing.T, method, url, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// must is call that fails the test unless the answer has status want.
func must(t *testing.T, want int, method, url, token, body string) map[string]any {
	t.Helper()
	status, _, out := call(t, method, url, token, body)
	if status != want {
		t.Fatalf("%s %s: %d %v, want %d", method, url, status, out, want)
	}
	return out
}
