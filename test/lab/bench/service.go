package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/example/orders/infrastructure/servicename"
	"github.com/example/orders/test/testsupport"
)

// service is the real `orders serve` process, started from a binary built for the run
// (not through `go run`, so that its pid is the service's own and /proc tells its
// memory and CPU).
type service struct {
	URL  string
	pid  int
	cmd  *exec.Cmd
	out  *testsupport.SyncBuffer
	done chan struct{}
	err  error
}

// buildService builds ./cmd/<servicename.Name> into dir and returns the binary's path.
func buildService(ctx context.Context, root, dir string) (string, error) {
	return buildBinary(ctx, root, dir, "./cmd/"+servicename.Name, servicename.Name)
}

// buildBinary builds the main package pkg into dir/name and returns the binary's path.
func buildBinary(ctx context.Context, root, dir, pkg, name string) (string, error) {
	goBin := "go"
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if p := filepath.Join(strings.TrimSpace(string(out)), "bin", "go"); fileExists(p) {
			goBin = p
		}
	}
	bin := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// startService runs `bin serve --migrate` against dbURL on a free loopback port and
// waits until GET /readyz answers 200.
func startService(ctx context.Context, bin, dbURL string, maxConns int, pprofAddr string, tee, consumers bool) (*service, error) {
	// As in production: authentication on (the client sends a staff token), the
	// service as the application role, migrations as the owner. A server where the
	// role cannot be created (BENCH_DATABASE_URL of a user without CREATEROLE) runs
	// single-role.
	env, err := testsupport.ServiceEnv(ctx, dbURL)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v; the service connects as the owner (APP_DB_ROLE=none)\n", err)
		env = map[string]string{"DATABASE_URL": dbURL, "APP_DB_ROLE": "none", "AUTH_HS256_SECRET": testsupport.AuthSecret, "PII_KEK": testsupport.PIIKEK}
	}
	env["RUN_CONSUMERS"] = strconv.FormatBool(consumers)
	return startProcess(ctx, bin, []string{"serve", "--migrate"}, env, maxConns, pprofAddr, tee)
}

// startServiceWith runs `bin serve --migrate` like startService, with the settings in
// extra (RUN_CONSUMERS, CONSUMER_PARTITIONS, ...) and LOG_LEVEL=warn.
func startServiceWith(ctx context.Context, bin, dbURL string, maxConns int, extra map[string]string) (*service, error) {
	env, err := testsupport.ServiceEnv(ctx, dbURL)
	if err != nil {
		env = map[string]string{"DATABASE_URL": dbURL, "APP_DB_ROLE": "none", "AUTH_HS256_SECRET": testsupport.AuthSecret, "PII_KEK": testsupport.PIIKEK}
	}
	for k, v := range extra {
		env[k] = v
	}
	return startProcess(ctx, bin, []string{"serve", "--migrate"}, env, maxConns, "", false)
}

// startCRUD runs the CRUD baseline server (test/lab/bench/crudserver) the same way, with
// the garbage-collection target the service's serve sets for itself (GOGC=400, see
// serveGCPercent in cmd/orders) unless the environment sets one for both.
func startCRUD(ctx context.Context, bin, dbURL string, maxConns int, pprofAddr string) (*service, error) {
	env := map[string]string{"DATABASE_URL": dbURL}
	if os.Getenv("GOGC") == "" {
		env["GOGC"] = "400"
	}
	return startProcess(ctx, bin, nil, env, maxConns, pprofAddr, false)
}

func startProcess(ctx context.Context, bin string, args []string, env map[string]string, maxConns int, pprofAddr string, tee bool) (*service, error) {
	var last error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken before we bind it
		s, retry, err := launch(ctx, bin, args, env, maxConns, pprofAddr, tee)
		if err == nil {
			return s, nil
		}
		last = err
		if !retry {
			break
		}
	}
	return nil, last
}

func launch(ctx context.Context, bin string, args []string, env map[string]string, maxConns int, pprofAddr string, tee bool) (*service, bool, error) {
	port, err := freePort()
	if err != nil {
		return nil, false, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, args...)
	vars := map[string]string{}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range map[string]string{"LISTEN_ADDR": addr, "LOG_LEVEL": "warn", "DB_MAX_CONNS": strconv.Itoa(maxConns)} {
		vars[k] = v
	}
	if pprofAddr != "" {
		vars["PPROF_ADDR"] = pprofAddr
	}
	cmd.Env = serviceEnv(vars)
	s := &service{URL: "http://" + addr, cmd: cmd, out: &testsupport.SyncBuffer{}, done: make(chan struct{})}
	var w io.Writer = s.out
	if tee {
		w = io.MultiWriter(s.out, os.Stderr)
	}
	cmd.Stdout, cmd.Stderr = w, w
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, false, err
	}
	s.pid = cmd.Process.Pid
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	probe := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			out := s.out.String()
			return nil, strings.Contains(out, "address already in use"),
				fmt.Errorf("the service exited before it was ready (%w):\n%s", s.err, out)
		default:
		}
		if resp, err := probe.Get(s.URL + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, false, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = s.stop()
			return nil, false, fmt.Errorf("GET /readyz not 200 within 60s:\n%s", s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM (graceful shutdown) and kills the process if it is not gone in
// 15 seconds.
func (s *service) stop() error {
	if s == nil {
		return nil
	}
	select {
	case <-s.done:
		return fmt.Errorf("the service had exited: %w", s.err)
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.err
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("the service did not stop within 15s of SIGTERM; killed")
	}
}

// alive reports whether the process still runs.
func (s *service) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *service) memory() memory {
	if s == nil {
		return memory{}
	}
	m, _ := readMemory(s.pid)
	return m
}

// serviceEnv is this process's environment without the service's own settings, plus
// vars: a DATABASE_URL or LOG_LEVEL of the caller must not leak into the run.
func serviceEnv(vars map[string]string) []string {
	own := map[string]bool{"DATABASE_URL": true, "LISTEN_ADDR": true, "LOG_LEVEL": true, "DB_MAX_CONNS": true,
		"REQUEST_TIMEOUT": true, "SHUTDOWN_TIMEOUT": true, "BODY_LIMIT_BYTES": true, "IDEMPOTENCY_RETENTION": true,
		"COMMAND_ATTEMPTS": true, "MIGRATE_ON_START": true, "PPROF_ADDR": true, "MIGRATE_DATABASE_URL": true, "APP_DB_ROLE": true,
		"AUTH_MODE": true, "AUTH_JWKS_URL": true, "AUTH_PUBLIC_KEY_FILE": true, "AUTH_HS256_SECRET": true, "PII_KEK": true,
		"AUTH_ISSUER": true, "AUTH_AUDIENCE": true, "AUTH_LEEWAY": true, "CORS_ALLOWED_ORIGINS": true, "RUN_CONSUMERS": true,
		"CONSUMER_PARTITIONS": true, "CONSUMER_INTERVAL": true}
	var out []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !own[k] {
			out = append(out, kv)
		}
	}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
