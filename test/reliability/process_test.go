package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// service is one `orders serve` process. It keeps its address across restarts, so
// that clients find a restarted replica where the killed one was.
type service struct {
	name  string
	addr  string // 127.0.0.1:port
	URL   string // http://addr
	dbURL string
	env   map[string]string
	out   *tailBuffer // every generation's output

	mu     sync.Mutex
	gen    int
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // cmd.Wait's result once done is closed
	alive  bool
	killed bool // by us, with SIGKILL, and not restarted since
}

// serviceEnv is what every service gets unless a test says otherwise.
func serviceEnv(dbURL, addr string, extra map[string]string) []string {
	// Authentication on, the service as the application role, migrations as the owner.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vars, err := testsupport.ServiceEnv(ctx, dbURL)
	if err != nil {
		panic(fmt.Sprintf("reliability: %v", err))
	}
	// The asynchronous consumers are off unless a test turns them on (consumers_test.go):
	// the other checks fold order streams only.
	for k, v := range map[string]string{"LISTEN_ADDR": addr, "LOG_LEVEL": "info", "SHUTDOWN_TIMEOUT": "10s",
		"DB_MAX_CONNS": "8", "REQUEST_TIMEOUT": "5s", "RUN_CONSUMERS": "false"} {
		vars[k] = v
	}
	for k, v := range extra {
		vars[k] = v
	}
	own := map[string]bool{}
	for _, k := range []string{"DATABASE_URL", "LISTEN_ADDR", "LOG_LEVEL", "DB_MAX_CONNS", "REQUEST_TIMEOUT",
		"SHUTDOWN_TIMEOUT", "BODY_LIMIT_BYTES", "IDEMPOTENCY_RETENTION", "COMMAND_ATTEMPTS", "MIGRATE_ON_START",
		"MIGRATE_DATABASE_URL", "APP_DB_ROLE", "AUTH_MODE", "AUTH_JWKS_URL", "AUTH_PUBLIC_KEY_FILE", "AUTH_HS256_SECRET",
		"AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_LEEWAY", "CORS_ALLOWED_ORIGINS", "RUN_CONSUMERS"} {
		own[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !own[k] && k != pgtest.URLEnv {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// startServices starts n replicas on dbURL and waits until each is ready. With SOAK=1
// they start at once and race to apply the migrations, as replicas that start
// together do (the losers wait for goose's lock, which it polls every 5s); the quick
// run starts them one after the other. When the test ends each gets SIGTERM and must
// exit cleanly.
func startServices(t *testing.T, n int, dbURL string, env map[string]string) []*service {
	t.Helper()
	begin := time.Now()
	defer func() { t.Logf("%d services ready in %v", n, time.Since(begin).Round(time.Millisecond)) }()
	svcs := make([]*service, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range svcs {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		svcs[i] = &service{name: fmt.Sprintf("replica-%d", i), addr: addr, URL: "http://" + addr, dbURL: dbURL, env: env, out: newTailBuffer(4 << 20)}
		wg.Add(1)
		go func(s *service, i int) {
			defer wg.Done()
			// Replicas that start together queue for the migration lock: give the last
			// one time (see above).
			errs[i] = s.start(pick(20*time.Second, 90*time.Second))
			if soak {
				t.Logf("%s ready after %v", s.name, time.Since(begin).Round(time.Millisecond))
			}
		}(svcs[i], i)
		if !soak {
			wg.Wait()
		}
	}
	wg.Wait()
	for _, s := range svcs {
		t.Cleanup(func() {
			s.stop(t)
			if t.Failed() {
				t.Logf("%s output (last lines):\n%s", s.name, s.out.lastLines(40))
			}
		})
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", svcs[i].name, err)
		}
	}
	return svcs
}

// start launches a new generation of the process and waits until /readyz answers 200.
func (s *service) start(within time.Duration) error {
	s.mu.Lock()
	s.gen++
	_, _ = fmt.Fprintf(s.out, "---- %s generation %d (%s) ----\n", s.name, s.gen, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(binPath, "serve", "--migrate")
	cmd.Env = serviceEnv(s.dbURL, s.addr, s.env)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return err
	}
	done := make(chan struct{})
	s.cmd, s.done, s.alive, s.killed = cmd, done, true, false
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.err = err
		s.alive = false
		s.mu.Unlock()
		close(done)
	}()
	if err := waitReady(s.URL, within, done); err != nil {
		s.mu.Lock()
		s.killed = true
		s.mu.Unlock()
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s: %w; output:\n%s", s.name, err, s.out.String())
	}
	return nil
}

// waitReady polls /readyz until 200, the process exits, or within passes.
func waitReady(base string, within time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(within)
	probe := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		select {
		case <-exited:
			return fmt.Errorf("exited before it was ready")
		default:
		}
		stats.requests.Add(1)
		resp, err := probe.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /readyz not 200 within %v (last: %s)", within, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *service) kill(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	cmd, done, alive := s.cmd, s.done, s.alive
	s.killed = alive
	s.mu.Unlock()
	if !alive {
		t.Fatalf("%s: kill: not running", s.name)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("%s: SIGKILL: %v", s.name, err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still running 10s after SIGKILL", s.name)
	}
	_, _ = fmt.Fprintf(s.out, "---- %s killed with SIGKILL (%s) ----\n", s.name, time.Now().Format(time.RFC3339Nano))
	stats.kills.Add(1)
}

// restart starts the process again on the same address.
func (s *service) restart(t testing.TB) {
	t.Helper()
	if err := s.start(30 * time.Second); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

func (s *service) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alive
}

// stop sends SIGTERM and expects a graceful exit: status 0 and the "stopped" line.
func (s *service) stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	cmd, done, alive, killed, err := s.cmd, s.done, s.alive, s.killed, s.err
	s.mu.Unlock()
	if cmd == nil || killed {
		return
	}
	if !alive {
		expect(t, false, "%s exited on its own before the test ended: %v", s.name, err)
		return
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("%s: SIGTERM: %v", s.name, err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		expect(t, false, "%s did not exit within 20s of SIGTERM", s.name)
		return
	}
	s.mu.Lock()
	err = s.err
	s.mu.Unlock()
	expect(t, err == nil, "%s did not exit cleanly after SIGTERM: %v", s.name, err)
}

// logProblems returns the log lines at level ERROR (500s, recovered panics) and the
// start of any crash, of every generation.
func (s *service) logProblems() []string {
	var bad []string
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			bad = append(bad, line)
		}
	}
	return bad
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it, for the output of long runs.
type tailBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	max     int
	dropped int64
}

func newTailBuffer(capacity int) *tailBuffer { return &tailBuffer{max: capacity} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		// drop whole lines from the front
		data := b.buf.Bytes()
		cut := over
		if i := bytes.IndexByte(data[over:], '\n'); i >= 0 {
			cut = over + i + 1
		}
		b.dropped += int64(cut)
		b.buf.Next(cut)
	}
	return len(p), nil
}

// lastLines returns the last n lines.
func (b *tailBuffer) lastLines(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("[%d bytes dropped]\n%s", b.dropped, b.buf.String())
	}
	return b.buf.String()
}

// ---------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------

// newEmptyDatabase creates a database without the schema on the shared server (the
// services migrate it themselves) and drops it when the test ends.
func newEmptyDatabase(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("reliability_%d_%d", time.Now().UnixNano(), os.Getpid())
	adminExec(t, adminURL, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return withDatabase(t, adminURL, name)
}

func withDatabase(t testing.TB, dbURL, name string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		t.Fatalf("need a postgres:// URL, got %q: %v", dbURL, err)
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

func adminExec(t testing.TB, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
