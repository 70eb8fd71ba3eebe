//go:build unix

package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LocalOptions configure a server run from the PostgreSQL binaries of this machine.
type LocalOptions struct {
	// DataDir is the cluster directory. Empty: a new temporary directory, removed by
	// Stop when Ephemeral or RemoveOnStop. An existing cluster is reused, and so is a
	// server already running in it.
	DataDir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one. A fixed port that is taken
	// is an error, not a silent move elsewhere, since the caller asked for it.
	Port int
	// Database is created if missing; empty means postgres.
	Database string
	// Ephemeral trades durability for speed (fsync, synchronous_commit and
	// full_page_writes off), and makes Stop delete the data directory. For tests only:
	// a development or benchmark database must behave like a real one.
	Ephemeral bool
	// MaxConnections, when set, is the server's max_connections.
	MaxConnections int
	// RemoveOnStop makes Stop delete the temporary data directory (DataDir empty) of a
	// durable server: a throwaway server that still commits like a real one, on disk
	// with fsync and synchronous_commit on (test/lab/bench). Ignored when DataDir is set.
	RemoveOnStop bool
	// BinDir holds initdb, pg_ctl and postgres; empty: PATH, then the highest
	// /usr/lib/postgresql/*/bin.
	BinDir string
	// StartTimeout bounds initdb plus the start; default 60s.
	StartTimeout time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// ErrNotRunning means that no server runs where one was looked for.
var ErrNotRunning = errors.New("not running")

// StartLocal starts (or finds already running) a server on the binaries installed on
// this machine. It is the fallback for machines without a usable Docker, and needs no
// network: initdb with trust authentication, listening on 127.0.0.1 only.
func StartLocal(ctx context.Context, opts LocalOptions) (*Server, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	bins, err := findBinaries(opts.BinDir)
	if err != nil {
		return nil, err
	}
	run, err := newRunner()
	if err != nil {
		return nil, err
	}
	c, err := prepareCluster(opts, run)
	if err != nil {
		return nil, err
	}

	if s, err := attachLocal(ctx, c, bins, run, opts); err == nil {
		return s, nil
	} else if !errors.Is(err, ErrNotRunning) {
		return nil, err
	}

	if err := c.initdb(ctx, bins, run, opts.Ephemeral, opts.Log); err != nil {
		c.cleanupFailed(opts)
		return nil, err
	}
	port, err := c.start(ctx, bins, run, opts)
	if err != nil {
		c.cleanupFailed(opts)
		return nil, err
	}
	s := c.server(bins, run, port, opts, "local PostgreSQL %s in %s")
	if err := ensureDatabase(ctx, c.url(port, "postgres"), opts.Database); err != nil {
		_ = s.Stop(context.WithoutCancel(ctx)) // cleanup, also when ctx ran out
		return nil, err
	}
	return s, nil
}

// AttachLocal returns the server already running in opts.DataDir, or an error
// wrapping ErrNotRunning. Its Stop stops that server (and, if opts.Ephemeral, deletes
// the directory). test/lab/devdb uses it for "url".
func AttachLocal(ctx context.Context, opts LocalOptions) (*Server, error) {
	c, bins, run, err := existingCluster(opts)
	if err != nil {
		return nil, err
	}
	return attachLocal(ctx, c, bins, run, opts)
}

// StopLocal stops the server running in opts.DataDir (pg_ctl stop -m fast), or returns
// an error wrapping ErrNotRunning. The data stays unless opts.Ephemeral. test/lab/devdb
// uses it for "down"; unlike AttachLocal it does not need the server to answer.
func StopLocal(ctx context.Context, opts LocalOptions) error {
	c, bins, run, err := existingCluster(opts)
	if err != nil {
		return err
	}
	if _, _, ok := c.running(); !ok {
		return fmt.Errorf("no server in %s: %w", c.dataDir, ErrNotRunning)
	}
	return c.stop(ctx, bins, run, opts.Ephemeral)
}

// existingCluster is the cluster in opts.DataDir, which StartLocal created earlier.
func existingCluster(opts LocalOptions) (*cluster, binaries, runner, error) {
	if opts.DataDir == "" {
		return nil, binaries{}, runner{}, fmt.Errorf("no data directory given: %w", ErrNotRunning)
	}
	bins, err := findBinaries(opts.BinDir)
	if err != nil {
		return nil, binaries{}, runner{}, err
	}
	run, err := newRunner()
	if err != nil {
		return nil, binaries{}, runner{}, err
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, binaries{}, runner{}, err
	}
	return &cluster{dataDir: dataDir, parent: filepath.Dir(dataDir)}, bins, run, nil
}

func attachLocal(ctx context.Context, c *cluster, bins binaries, run runner, opts LocalOptions) (*Server, error) {
	pid, port, ok := c.running()
	if !ok {
		return nil, fmt.Errorf("no server in %s: %w", c.dataDir, ErrNotRunning)
	}
	s := c.server(bins, run, port, opts, "local PostgreSQL %s already running in %s")
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := waitReady(wctx, c.url(port, "postgres")); err != nil {
		return nil, fmt.Errorf("a server seems to run in %s (pid %d, port %d) but does not answer: %w", c.dataDir, pid, port, err)
	}
	if err := ensureDatabase(ctx, c.url(port, "postgres"), opts.Database); err != nil {
		return nil, err
	}
	return s, nil
}

// cluster is a data directory and what StartLocal created around it.
type cluster struct {
	dataDir       string
	parent        string
	createdParent bool // parent is ours: removed with an ephemeral cluster
}

func prepareCluster(opts LocalOptions, run runner) (*cluster, error) {
	c := &cluster{}
	if opts.DataDir == "" {
		base := ""
		if opts.Ephemeral {
			base = fastTempDir()
		}
		parent, err := os.MkdirTemp(base, "pg-local-")
		if err != nil {
			return nil, err
		}
		c.parent, c.dataDir, c.createdParent = parent, filepath.Join(parent, "data"), true
	} else {
		abs, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, err
		}
		c.dataDir, c.parent = abs, filepath.Dir(abs)
		if _, err := os.Stat(c.parent); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(c.parent, 0o755); err != nil { //nolint:gosec // the postgres server user must get through
				return nil, err
			}
			c.createdParent = true
		}
	}
	if c.createdParent {
		// MkdirTemp makes 0700 directories: the postgres user must get through.
		if err := run.own(c.parent); err != nil {
			c.cleanupFailed(opts)
			return nil, err
		}
	}
	if err := run.reachable(c.parent); err != nil {
		c.cleanupFailed(opts)
		return nil, err
	}
	return c, nil
}

func (c *cluster) logFile() string { return filepath.Join(c.parent, filepath.Base(c.dataDir)+".log") }

func (c *cluster) url(port int, db string) string {
	if db == "" {
		db = "postgres"
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, db)
}

// running reads postmaster.pid: line 1 is the pid, line 4 the port.
func (c *cluster) running() (pid, port int, ok bool) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return 0, 0, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, 0, false
	}
	pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	if !alive(pid) || port == 0 {
		return 0, 0, false
	}
	return pid, port, true
}

// initdb creates the cluster unless the directory already holds one.
func (c *cluster) initdb(ctx context.Context, bins binaries, run runner, ephemeral bool, log io.Writer) error {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	if entries, err := os.ReadDir(c.dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is neither empty nor a PostgreSQL data directory; move it away", c.dataDir)
	}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return err
	}
	if err := run.own(c.dataDir); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(log, "initdb %s (PostgreSQL %s)\n", c.dataDir, bins.version)
	var out []byte
	var err error
	// C.UTF-8 matches the container image; old systems lack it, and C works everywhere.
	for _, locale := range []string{"C.UTF-8", "C"} {
		args := []string{"-D", c.dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=" + locale}
		if ephemeral {
			args = append(args, "--no-sync")
		}
		cmd := run.command(ctx, bins.path("initdb"), args...)
		cmd.Dir = c.dataDir
		if out, err = cmd.CombinedOutput(); err == nil {
			return nil
		}
		if !strings.Contains(string(out), "locale") {
			break
		}
		// Empty the directory for the next attempt.
		entries, _ := os.ReadDir(c.dataDir)
		for _, e := range entries {
			_ = os.RemoveAll(filepath.Join(c.dataDir, e.Name()))
		}
	}
	return fmt.Errorf("initdb %s: %w\n%s", c.dataDir, err, strings.TrimSpace(string(out)))
}

// start runs pg_ctl start and returns the port. A port of our choosing that another
// process grabbed in the meantime is replaced by another one.
func (c *cluster) start(ctx context.Context, bins binaries, run runner, opts LocalOptions) (int, error) {
	if opts.Port != 0 && !portFree(opts.Port) {
		return 0, fmt.Errorf("port %d on 127.0.0.1 is already in use (another PostgreSQL?); stop that server or choose another port", opts.Port)
	}
	// pg_ctl -l appends to the log as the server user; create it ourselves so that a
	// parent directory we may not give away (the caller's) does not matter.
	logFile := c.logFile()
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644) //nolint:gosec // our own log path; handed to the server user below
	if err != nil {
		return 0, err
	}
	_ = f.Close()
	if err := run.own(logFile); err != nil {
		return 0, err
	}
	// The socket goes into the data directory, which the server user owns (not
	// /var/run/postgresql, which may not exist or not be ours); sun_path is short.
	sockDir := c.dataDir
	if len(sockDir)+len("/.s.PGSQL.65535") >= 100 {
		sockDir = os.TempDir()
	}
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return 0, err
			}
		}
		o := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k '%s'", port, sockDir)
		if opts.Ephemeral {
			o += " " + strings.Join(ephemeralSettings, " ")
		}
		if opts.MaxConnections > 0 {
			o += fmt.Sprintf(" -c max_connections=%d", opts.MaxConnections)
		}
		_, _ = fmt.Fprintf(opts.Log, "pg_ctl start -D %s (port %d, log %s)\n", c.dataDir, port, logFile)
		timeout := 60
		if d, ok := ctx.Deadline(); ok {
			timeout = max(1, int(time.Until(d).Seconds()))
		}
		cmd := run.command(ctx, bins.path("pg_ctl"), "start", "-w", "-t", strconv.Itoa(timeout),
			"-D", c.dataDir, "-l", logFile, "-o", o)
		cmd.Dir = c.dataDir
		out, err := cmd.CombinedOutput()
		if err == nil {
			return port, nil
		}
		tail := logTail(logFile, 20)
		if opts.Port == 0 && attempt < 3 && strings.Contains(tail, "could not bind") {
			continue
		}
		return 0, fmt.Errorf("pg_ctl start: %w\n%s\nserver log %s:\n%s", err, strings.TrimSpace(string(out)), logFile, tail)
	}
}

// ephemeralSettings make a throwaway server fast: nothing waits for the disk.
var ephemeralSettings = []string{
	"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
	// Parallel tests each hold a pool (some of 40-60 connections); 100 is too few.
	"-c", "max_connections=500",
}

func (c *cluster) server(bins binaries, run runner, port int, opts LocalOptions, how string) *Server {
	return &Server{
		URL:      c.url(port, opts.Database),
		How:      fmt.Sprintf(how, bins.version, c.dataDir),
		Provider: ProviderLocal,
		DataDir:  c.dataDir,
		Version:  bins.version,
		stop:     func(ctx context.Context) error { return c.stop(ctx, bins, run, opts.removeOnStop()) },
	}
}

// removeOnStop says whether Stop deletes the cluster.
func (o LocalOptions) removeOnStop() bool {
	return o.Ephemeral || (o.RemoveOnStop && o.DataDir == "")
}

// stop stops the server; an ephemeral cluster is deleted too.
func (c *cluster) stop(ctx context.Context, bins binaries, run runner, ephemeral bool) error {
	mode := "fast"
	if ephemeral {
		mode = "immediate" // the data is about to be deleted anyway
	}
	cmd := run.command(ctx, bins.path("pg_ctl"), "stop", "-w", "-m", mode, "-D", c.dataDir)
	cmd.Dir = c.dataDir
	if out, err := cmd.CombinedOutput(); err != nil {
		if _, _, ok := c.running(); ok {
			return fmt.Errorf("pg_ctl stop %s: %w\n%s", c.dataDir, err, strings.TrimSpace(string(out)))
		}
	}
	if ephemeral {
		c.cleanup()
	}
	return nil
}

// cleanupFailed undoes a start that failed, but never deletes a cluster the caller
// wants to keep: only an ephemeral one or a temporary directory of our own.
func (c *cluster) cleanupFailed(opts LocalOptions) {
	if opts.Ephemeral || opts.DataDir == "" {
		c.cleanup()
	}
}

// cleanup deletes what an ephemeral cluster leaves behind.
func (c *cluster) cleanup() {
	if c.createdParent {
		_ = os.RemoveAll(c.parent)
		return
	}
	_ = os.RemoveAll(c.dataDir)
	_ = os.Remove(c.logFile())
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// probeLocal checks what StartLocal needs before it runs anything: the binaries, and a
// user to run them as.
func probeLocal(binDir string) (binaries, error) {
	bins, err := findBinaries(binDir)
	if err != nil {
		return binaries{}, err
	}
	if _, err := newRunner(); err != nil {
		return binaries{}, err
	}
	return bins, nil
}
