//go:build unix

package reliability

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/example/orders/test/postgres"
)

// localPG is a PostgreSQL server of this test's own, from the local binaries, with its
// data in the test's temporary directory and a fixed port, so that it can be stopped
// and started again (or frozen) under running services that keep their DATABASE_URL.
type localPG struct {
	t       *testing.T
	dataDir string
	logFile string
	port    int
	URL     string // the orders database, as superuser
	pgCtl   string
	cred    *syscall.Credential // run pg_ctl as the postgres user when we are root

	mu     sync.Mutex
	frozen []int // pids stopped with SIGSTOP
}

// startLocalPG initialises and starts the server (postgres.StartLocal) and stops it
// when the test ends.
func startLocalPG(t *testing.T) *localPG {
	t.Helper()
	dir := t.TempDir()
	// The server runs as the postgres user when we are root: it must get through the
	// test's temporary directories, which are private (0700).
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil { //nolint:gosec // the postgres server user must get through
			t.Fatal(err)
		}
	}
	pgCtl, err := findPgCtl()
	if err != nil {
		t.Skipf("no local PostgreSQL binaries for the outage test: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p := &localPG{t: t, dataDir: filepath.Join(dir, "data"), logFile: filepath.Join(dir, "data.log"), port: port, pgCtl: pgCtl}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress strings.Builder
	srv, err := postgres.StartLocal(ctx, postgres.LocalOptions{DataDir: p.dataDir, Port: port, Database: "orders",
		BinDir: filepath.Dir(pgCtl), Log: &progress})
	if err != nil {
		t.Fatalf("start local PostgreSQL: %v\n%s", err, progress.String())
	}
	p.URL = srv.URL
	stop := func() {
		p.thaw()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "reliability: stop local PostgreSQL in %s: %v\n", p.dataDir, err)
		}
	}
	unregister := emergency.add("local PostgreSQL "+p.dataDir, stop)
	t.Cleanup(func() {
		unregister()
		stop()
		if t.Failed() {
			t.Logf("PostgreSQL log (last lines):\n%s", lastLinesOf(p.logFile, 30))
		}
	})
	t.Logf("local PostgreSQL on port %d in %s", port, p.dataDir)
	return p
}

// stop stops the server: mode fast (sessions are ended, a clean shutdown) or
// immediate (like a crash; the next start recovers from the WAL).
func (p *localPG) stop(mode string) {
	p.t.Helper()
	p.pgctl("stop", "-w", "-t", "60", "-m", mode, "-D", p.dataDir)
	stats.dbStops.Add(1)
}

// start starts the server again on the same port.
func (p *localPG) start() {
	p.t.Helper()
	sock := p.dataDir
	if len(sock)+len("/.s.PGSQL.65535") >= 100 {
		sock = os.TempDir()
	}
	p.pgctl("start", "-w", "-t", "60", "-D", p.dataDir, "-l", p.logFile,
		"-o", fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k '%s'", p.port, sock))
}

func (p *localPG) pgctl(args ...string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.pgCtl, args...)
	cmd.Dir = p.dataDir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("pg_ctl %s: %v\n%s\nserver log:\n%s", strings.Join(args, " "), err, out, lastLinesOf(p.logFile, 20))
	}
}

// freeze stops the postmaster and all its processes with SIGSTOP: the server still
// accepts TCP connections (the kernel does) but answers nothing, like a hung host.
func (p *localPG) freeze() { p.stopProcesses(true) }

// freezePostmaster stops only the postmaster: sessions that exist go on, but nothing
// new gets through, not even a cancel request, as when the network to the server
// fails for new connections.
func (p *localPG) freezePostmaster() { p.stopProcesses(false) }

func (p *localPG) stopProcesses(children bool) {
	p.t.Helper()
	pid := p.postmasterPID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		p.t.Fatalf("SIGSTOP postmaster %d: %v", pid, err)
	}
	pids := []int{pid}
	if children {
		pids = append(pids, childrenOf(pid)...)
	}
	for _, c := range pids[1:] {
		_ = syscall.Kill(c, syscall.SIGSTOP)
	}
	p.mu.Lock()
	p.frozen = pids
	p.mu.Unlock()
	stats.dbFreezes.Add(1)
}

// thaw continues what freeze stopped.
func (p *localPG) thaw() {
	p.mu.Lock()
	pids := p.frozen
	p.frozen = nil
	p.mu.Unlock()
	for i := len(pids) - 1; i >= 0; i-- {
		_ = syscall.Kill(pids[i], syscall.SIGCONT)
	}
}

func (p *localPG) postmasterPID() int {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dataDir, "postmaster.pid"))
	if err != nil {
		p.t.Fatalf("postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		p.t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) >= 2 {
			if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
				out = append(out, child)
			}
		}
	}
	sort.Ints(out)
	return out
}

// findPgCtl finds pg_ctl in PATH or in the highest /usr/lib/postgresql/*/bin.
func findPgCtl() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			return resolved, nil
		}
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dirs[i])), 64)
		b, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dirs[j])), 64)
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return filepath.Join(d, "pg_ctl"), nil
		}
	}
	return "", fmt.Errorf("pg_ctl is neither in PATH nor in /usr/lib/postgresql/*/bin")
}

func lastLinesOf(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
