// Package walkthrough runs the README's "Try it" section as a reader would: `make
// run`, the exports it prints pasted into a shell, then every command of the section's
// sh blocks, as written, in order, from the repository's directory.
package walkthrough

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const root = "../.."

var placeOrder = regexp.MustCompile(`-X POST \S+/orders\s`)

// commands returns the commands of the sh blocks between "## Try it" and the next
// "## " heading: comment lines dropped, continuation lines joined.
func commands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## Try it\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Try it" section`)
	}
	section := text[start+1:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	var cmds []string
	in := false
	var cur string
	for line := range strings.SplitSeq(section, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		}
		trimmed := strings.TrimSpace(line)
		if !in || cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		cmds = append(cmds, cur+trimmed)
		cur = ""
	}
	return cmds
}

// TestReadmeWalkthrough: every command of "Try it" runs as written and does what its
// comments say, against `make run` on a fresh database.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs make run and PostgreSQL")
	}
	for _, tool := range []string{"make", "curl", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	cmds := commands(t)
	if len(cmds) < 10 {
		t.Fatalf("found %d commands in the README's Try it section: %q", len(cmds), cmds)
	}
	ctx := context.Background()
	// A fresh database; make run is given it (as DATABASE_URL and the owner's
	// MIGRATE_DATABASE_URL) instead of starting the development database, which a
	// developer's machine may hold data in. The rest is make run's own.
	env, err := testsupport.ServiceEnv(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	printed := makeRun(t, addr, env)

	// The exports make run printed, pasted into the reader's shell.
	shellEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DATABASE_URL=" + env["DATABASE_URL"]}
	if gocache := os.Getenv("GOCACHE"); gocache != "" {
		shellEnv = append(shellEnv, "GOCACHE="+gocache)
	}
	exports := regexp.MustCompile(`(?m)^\s*export ([A-Z_]+)=(\S+)`).FindAllStringSubmatch(printed, -1)
	got := map[string]bool{}
	for _, e := range exports {
		shellEnv = append(shellEnv, e[1]+"="+strings.Trim(e[2], `'"`))
		got[e[1]] = true
	}
	if !got["TOKEN"] || !got["STAFF_TOKEN"] {
		t.Fatalf("make run printed no export of TOKEN and STAFF_TOKEN:\n%s", printed)
	}
	// curl fails on an HTTP error status, and says so, whatever the command's flags.
	curlHome := t.TempDir()
	if err := os.WriteFile(filepath.Join(curlHome, ".curlrc"), []byte("fail-with-body\nshow-error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shellEnv = append(shellEnv, "CURL_HOME="+curlHome)
	t.Cleanup(func() { _ = os.Remove(filepath.Join(root, "feed.pos")) })

	var lastOut string
	values := map[string]string{}
	for _, cmd := range cmds {
		// The README's ports are make run's default; this run has its own.
		run := strings.NewReplacer("localhost:8080", addr, "127.0.0.1:8080", addr).Replace(cmd)
		// "ID=...   # the id from the response": what a reader copies by hand.
		if m := regexp.MustCompile(`^([A-Z]+)=\.\.\.`).FindStringSubmatch(run); m != nil {
			v := values[m[1]]
			if v == "" {
				t.Fatalf("%s: the commands before it gave no %s", cmd, m[1])
			}
			shellEnv = append(shellEnv, m[1]+"="+v)
			continue
		}
		streaming := strings.Contains(run, "curl -N") || strings.Contains(run, "feed tail")
		timeout := 30 * time.Second
		if streaming {
			timeout = 3 * time.Second
		}
		out, code, timedOut := shell(t, shellEnv, run, timeout)
		lastOut = out
		t.Logf("$ %s\n  exit %d, timed out %v, %d bytes", cmd, code, timedOut, len(out))
		switch {
		case strings.Contains(cmd, "consumers skip"):
			// Nothing is stopped in the walkthrough: skip says so (the README's comment).
			if code != 2 || !strings.Contains(out, "has no failing event to skip") {
				t.Errorf("%s: exit %d, want 2 and \"has no failing event to skip\"\n%s", cmd, code, out)
			}
		case streaming:
			if !timedOut && code != 0 {
				t.Errorf("%s: exit %d before the stream ended\n%s", cmd, code, out)
			}
			if !strings.Contains(out, "OrderConfirmed") {
				t.Errorf("%s: printed no OrderConfirmed within %v: a reader sees nothing\n%s", cmd, timeout, out)
			}
		case timedOut:
			t.Errorf("%s: still running after %v\n%s", cmd, timeout, out)
		case code != 0:
			t.Errorf("%s: exit %d\n%s", cmd, code, out)
		}
		if placeOrder.MatchString(run) {
			values["ID"] = jsonField(lastOut, "id")
		}
		if m := regexp.MustCompile(`(?mi)^X-Event-Position: (\d+)`).FindStringSubmatch(out); m != nil {
			values["POS"] = m[1]
		}
	}
	if _, err := os.Stat(filepath.Join(root, "feed.pos")); err != nil {
		t.Errorf("feed tail left no feed.pos: %v", err)
	}
}

// makeRun starts `make run ADDR=addr` with env, waits until it is ready, and returns
// what it printed by then; it is stopped when the test ends.
func makeRun(t *testing.T, addr string, env map[string]string) string {
	t.Helper()
	cmd := exec.Command("make", "--no-print-directory", "run", "ADDR="+addr)
	cmd.Dir = root
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range []string{"GOCACHE", "GOPATH", "GOMODCACHE", "GOFLAGS", "GOPROXY", "TMPDIR"} {
		if v := os.Getenv(k); v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for _, k := range []string{"DATABASE_URL", "MIGRATE_DATABASE_URL", "APP_DB_ROLE"} {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	client := http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/readyz") //nolint:noctx // a probe with a client timeout
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return out.String()
			}
		}
		if cmd.ProcessState != nil {
			break
		}
	}
	t.Fatalf("make run ADDR=%s never became ready:\n%s", addr, out.String())
	return ""
}

// shell runs cmd in bash from the repository's directory; timedOut says it was
// stopped after timeout (a stream).
func shell(t *testing.T, env []string, cmd string, timeout time.Duration) (out string, code int, timedOut bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-c", "set -o pipefail; "+cmd)
	c.Dir = root
	c.Env = env
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	var b syncBuffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	code = c.ProcessState.ExitCode()
	if err != nil && ctx.Err() != nil {
		return b.String(), code, true
	}
	return b.String(), code, false
}

// jsonField finds "name":"value" in the body of a `curl -si` answer.
func jsonField(out, name string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var v map[string]any
		if json.Unmarshal([]byte(line), &v) == nil {
			if s, ok := v[name].(string); ok {
				return s
			}
		}
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for a process's writers and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
