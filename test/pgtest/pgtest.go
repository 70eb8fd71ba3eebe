// Package pgtest gives each test its own migrated database on a real PostgreSQL
// server, so that tests of the event store and the read models run against the SQL
// they will meet in production, in parallel, without seeing each other's rows.
//
// A package that uses it needs
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// so that the server it starts is stopped when the tests end; Ryuk, testcontainers'
// reaper, is often disabled (TESTCONTAINERS_RYUK_DISABLED=true) and cannot be relied on.
//
// The server comes from postgres.Start: TEST_DATABASE_URL if set (nothing is started
// or stopped then), else a container of $POSTGRES_IMAGE, else the PostgreSQL binaries
// of this machine ($POSTGRES_PROVIDER=container|local forces one). Which one is used is
// printed once to stderr (go test shows it with -v or when a test fails). When none
// can be had, every test that asks for a database fails: database tests are never
// skipped silently.
//
// The schema is migrated once per server into a template database whose name carries
// a hash of the migrations; each test's database is a copy of it (CREATE DATABASE ...
// TEMPLATE), which takes milliseconds, and is dropped when the test ends.
//
// The databases are isolated, the server is not: transaction ids and snapshots are
// cluster-wide, so SQL that looks at pg_current_snapshot() or pg_snapshot_xmin() (as a
// reader of the event log that must not pass an open transaction does) sees the open
// transactions of other tests running in parallel, in other databases.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/example/orders/test/postgres"
	"github.com/example/orders/test/testsupport"
)

// URLEnv is the environment variable that names a server to use instead of starting one.
const URLEnv = "TEST_DATABASE_URL"

var (
	mainCalled atomic.Bool
	setupOnce  sync.Once
	env        *environment // the server and template, after setupOnce
	envErr     error
	started    atomic.Pointer[environment] // what shutdown stops; shutdown may run at any time
	stopMu     sync.Mutex
	stopped    bool
)

// environment is what this test process shares between its tests.
type environment struct {
	server   *postgres.Server
	admin    *pgxpool.Pool // on the server URL's database: creates and drops databases
	template string
}

// Main runs the tests and then stops the server this process started (a container is
// removed, a local server stopped and its data deleted), also on Ctrl-C and just
// before go test's -timeout would kill the process. Only SIGKILL leaves it running.
// Call it from TestMain; it does not return.
func Main(m *testing.M) {
	mainCalled.Store(true)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "pgtest: %v: stopping the PostgreSQL server\n", s)
		_ = shutdown()
		os.Exit(130)
	}()

	// go test -timeout (10m by default) ends a hung run with a panic, which leaves no
	// chance to clean up: stop the server a moment before that.
	flag.Parse()
	alarm := beforeTimeout()

	code := m.Run()
	signal.Stop(sig)
	if alarm != nil {
		alarm.Stop()
	}
	if err := shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stopping the PostgreSQL server: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// beforeTimeout arranges for the server to be stopped shortly before -test.timeout.
func beforeTimeout() *time.Timer {
	d, ok := testsupport.TestTimeout()
	if !ok {
		return nil
	}
	margin := min(5*time.Second, d/10)
	return time.AfterFunc(d-margin, func() {
		fmt.Fprintf(os.Stderr, "pgtest: the tests are about to time out (-timeout %v); stopping the PostgreSQL server first\n", d)
		_ = shutdown()
	})
}

func shutdown() error {
	stopMu.Lock()
	defer stopMu.Unlock()
	e := started.Load()
	if e == nil || stopped {
		return nil
	}
	stopped = true
	e.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.server.Stop(ctx)
}

// setup starts (once per process) the server and makes the template database.
func setup() (*environment, error) {
	setupOnce.Do(func() {
		env, envErr = start()
		if env != nil {
			started.Store(env)
		}
		if envErr != nil {
			envErr = fmt.Errorf("pgtest: %w", envErr)
		}
	})
	return env, envErr
}

func start() (*environment, error) {
	if os.Getenv(URLEnv) == "" && !mainCalled.Load() {
		return nil, errors.New("this package's tests would start a PostgreSQL server that nothing stops; add\n\tfunc TestMain(m *testing.M) { pgtest.Main(m) }\nor set " + URLEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	begin := time.Now()
	// Progress (testcontainers' included) is kept for the error message only: a test
	// log full of Docker details says nothing when the server comes up.
	var progress strings.Builder
	w := &syncWriter{w: &progress}
	tclog.SetDefault(stdlog.New(w, "testcontainers: ", 0))
	server, err := postgres.Start(ctx, serverOptions(w))
	tclog.SetDefault(stdlog.New(os.Stderr, "testcontainers: ", stdlog.LstdFlags))
	if err != nil {
		if progress.Len() > 0 {
			return nil, fmt.Errorf("%w\nprogress:\n%s", err, progress.String())
		}
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "pgtest: using %s (ready in %v)\n", server.How, time.Since(begin).Round(time.Millisecond))

	e := &environment{server: server}
	cfg, err := pgxpool.ParseConfig(server.URL)
	if err == nil {
		cfg.MaxConns = 4
		e.admin, err = pgxpool.NewWithConfig(ctx, cfg)
	}
	if err == nil {
		begin = time.Now()
		e.template, err = ensureTemplate(ctx, e.admin, server.URL)
		fmt.Fprintf(os.Stderr, "pgtest: template %s ready in %v\n", e.template, time.Since(begin).Round(time.Millisecond))
	}
	if err != nil {
		if e.admin != nil {
			e.admin.Close()
		}
		_ = server.Stop(context.Background())
		return nil, fmt.Errorf("%s: %w", server.How, err)
	}
	return e, nil
}

// serverOptions are the options of every test process's server.
func serverOptions(log io.Writer) postgres.Options {
	return postgres.Options{
		URLEnv:    URLEnv,
		Database:  "postgres",
		Ephemeral: true,
		Log:       log,
	}
}

// Where says in one line where the test processes will get PostgreSQL, decided as
// they decide it (postgres.Choose) but without starting anything: `make test` prints
// it once (go run ./test/pgtest/cmd/where), since each test package starts its own
// server and go test shows their output only on failure or with -v. An image that
// is not present is pulled now, once, rather than by every package.
func Where(ctx context.Context) (string, error) {
	plan, err := postgres.Choose(ctx, serverOptions(nil))
	if err != nil {
		return "", err
	}
	switch plan.Provider {
	case postgres.ProviderEnv:
		return "PostgreSQL at " + plan.String(), nil
	case postgres.ProviderLocal:
		if plan.NoContainer != "" {
			return fmt.Sprintf("%s; PostgreSQL from the local PostgreSQL %s binaries in %s, a throwaway server per test package", plan.NoContainer, plan.Version, plan.BinDir), nil
		}
	}
	return "PostgreSQL from " + plan.String() + ", a throwaway server per test package", nil
}

// Option configures NewPool.
type Option func(*poolConfig)

type poolConfig struct {
	maxConns int32
	modify   []func(*pgxpool.Config)
}

// MaxConns sets the pool size (default 10; parallel tests share one server).
func MaxConns(n int32) Option { return func(c *poolConfig) { c.maxConns = n } }

// WithPoolConfig lets the caller adjust the pool configuration (AfterConnect hooks,
// tracers, ...) before the pool is created.
func WithPoolConfig(f func(*pgxpool.Config)) Option {
	return func(c *poolConfig) { c.modify = append(c.modify, f) }
}

// NewPool returns a pool on a new, migrated database of its own. The pool is closed
// and the database dropped when the test ends. It fails the test when no server can
// be had.
func NewPool(t testing.TB, opts ...Option) *pgxpool.Pool {
	t.Helper()
	pc := poolConfig{maxConns: 10}
	for _, o := range opts {
		o(&pc)
	}
	url := NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = pc.maxConns
	for _, f := range pc.modify {
		f(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		t.Fatalf("pgtest: connect to the test database: %v", err)
	}
	// Registered after NewDatabase's cleanup, so it runs before it: the pool closes
	// before the database is dropped.
	t.Cleanup(pool.Close)
	return pool
}

// NewDatabase creates a new, migrated database for this test and returns its URL. The
// database is dropped (connections and all) when the test ends.
func NewDatabase(t testing.TB) (url string) {
	t.Helper()
	e, err := setup()
	if err != nil {
		t.Fatal(err)
	}
	name := databaseName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := createFromTemplate(ctx, e.admin, name, e.template); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	url, err = withDatabase(e.server.URL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return url
}

// createFromTemplate copies the template. PostgreSQL refuses while anyone is connected
// to the template (SQLSTATE 55006, object_in_use); the template does not allow
// connections once complete, but another process may be finishing one, so retry.
func createFromTemplate(ctx context.Context, admin *pgxpool.Pool, name, template string) error {
	for delay := 20 * time.Millisecond; ; delay *= 2 {
		_, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(template))
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || delay > 2*time.Second {
			if err != nil {
				return fmt.Errorf("create database %s from %s: %w", name, template, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create database %s from %s: %w", name, template, err)
		case <-time.After(delay):
		}
	}
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// databaseName is test_<test name>_<random>: unique, and recognisable when a killed
// run leaves one behind on a shared server.
func databaseName(testName string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	slug := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(slug) > 40 {
		slug = slug[:40]
	}
	return "test_" + slug + "_" + hex.EncodeToString(b[:])
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// syncWriter serialises writes from the providers' goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
