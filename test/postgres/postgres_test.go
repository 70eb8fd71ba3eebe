package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/servicename"
	"github.com/example/orders/test/postgres"
)

func selectOne(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1: %d, %v", one, err)
	}
}

func TestLocalEphemeral(t *testing.T) {
	ctx := context.Background()
	begin := time.Now()
	s, err := postgres.StartLocal(ctx, postgres.LocalOptions{Ephemeral: true, Database: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("local start took %v: %s", time.Since(begin).Round(time.Millisecond), s.How)
	if !strings.HasSuffix(strings.SplitN(s.URL, "?", 2)[0], "/orders") {
		t.Errorf("URL %s does not name database orders", s.URL)
	}
	selectOne(t, s.URL)

	dataDir := s.How[strings.LastIndex(s.How, " ")+1:]
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		t.Fatalf("How %q does not end with the data directory: %v", s.How, err)
	}
	begin = time.Now()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("local stop took %v", time.Since(begin).Round(time.Millisecond))
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory %s still there after Stop: %v", dataDir, err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestLocalDurableRemoveOnStop is the benchmark's server: durable (fsync and
// synchronous_commit on, not on tmpfs) yet gone with its data after Stop.
func TestLocalDurableRemoveOnStop(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.StartLocal(ctx, postgres.LocalOptions{RemoveOnStop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(ctx) }()
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, setting := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&v); err != nil || v != "on" {
			t.Errorf("%s = %q (%v), want on", setting, v, err)
		}
	}
	_ = conn.Close(ctx)
	dataDir := s.How[strings.LastIndex(s.How, " ")+1:]
	if strings.HasPrefix(dataDir, "/dev/shm/") {
		t.Errorf("durable server's data in tmpfs: %s", dataDir)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(dataDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory of %s still there after Stop: %v", dataDir, err)
	}
}

func TestLocalPersistentReuse(t *testing.T) {
	ctx := context.Background()
	// t.TempDir is 0700; as root the server runs as postgres, which must get in.
	base, err := os.MkdirTemp("", "postgres-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil { //nolint:gosec // the postgres server user must get through
		t.Fatal(err)
	}
	dataDir := filepath.Join(base, "sub", "pgdata")
	opts := postgres.LocalOptions{DataDir: dataDir, Database: "orders"}
	s1, err := postgres.StartLocal(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s1.Stop(context.Background()) })
	s2, err := postgres.StartLocal(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s1.URL != s2.URL || !strings.Contains(s2.How, "already running") {
		t.Errorf("second start did not reuse the server: %s (%s) vs %s (%s)", s1.URL, s1.How, s2.URL, s2.How)
	}
	a, err := postgres.AttachLocal(ctx, opts)
	if err != nil || a.URL != s1.URL {
		t.Fatalf("AttachLocal: %v, %v", a, err)
	}
	if err := s1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		t.Errorf("persistent data directory gone after Stop: %v", err)
	}
	if _, err := postgres.AttachLocal(ctx, opts); !errors.Is(err, postgres.ErrNotRunning) {
		t.Errorf("AttachLocal after Stop: %v, want ErrNotRunning", err)
	}
}

func TestContainer(t *testing.T) {
	image := containerImage(t)
	ctx := context.Background()
	begin := time.Now()
	s, err := postgres.StartContainer(ctx, postgres.ContainerOptions{Image: image, Ephemeral: true, Database: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("container start took %v: %s", time.Since(begin).Round(time.Millisecond), s.How)
	defer func() { _ = s.Stop(ctx) }()
	selectOne(t, s.URL)
	begin = time.Now()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("container stop took %v", time.Since(begin).Round(time.Millisecond))
}

func TestContainerMissingImageFailsFast(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skipf("docker info fails (%v): no Docker engine on this machine", err)
	}
	begin := time.Now()
	_, err := postgres.StartContainer(context.Background(), postgres.ContainerOptions{Image: "example.invalid/no-such-postgres:0"})
	if !errors.Is(err, postgres.ErrImageUnavailable) {
		t.Fatalf("err = %v, want ErrImageUnavailable", err)
	}
	if d := time.Since(begin); d > 30*time.Second {
		t.Errorf("took %v to give up", d)
	}
	t.Logf("gave up after %v: %v", time.Since(begin).Round(time.Millisecond), err)
}

func TestStartFromEnv(t *testing.T) {
	t.Setenv("ORDERS_TEST_URL", "postgres://u@h/db")
	s, err := postgres.Start(context.Background(), postgres.Options{URLEnv: "ORDERS_TEST_URL"})
	if err != nil || s.URL != "postgres://u@h/db" || s.How != "ORDERS_TEST_URL" {
		t.Fatalf("Start = %+v, %v", s, err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestStartNothingAvailable runs Start in a child process, because testcontainers
// caches how it reaches Docker for the life of a process.
func TestStartNothingAvailable(t *testing.T) {
	if os.Getenv("POSTGRES_TEST_CHILD") == "nothing" {
		_, err := postgres.Start(context.Background(), postgres.Options{
			URLEnv: "ORDERS_UNSET_URL",
			Prefer: postgres.ProviderAuto,
			// An image that exists nowhere: the container fails whether or not Docker runs.
			Container: postgres.ContainerOptions{Image: "example.invalid/no-such-postgres:0"},
			Local:     postgres.LocalOptions{BinDir: os.TempDir() + "/no-such-bin-dir"},
		})
		if err == nil {
			t.Fatal("Start succeeded with neither Docker nor binaries")
		}
		_, _ = os.Stderr.WriteString("START-ERROR: " + err.Error() + "\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartNothingAvailable$", "-test.count=1")
	cmd.Env = append(os.Environ(), "POSTGRES_TEST_CHILD=nothing", "DOCKER_HOST=unix:///nonexistent/docker.sock",
		"PATH="+t.TempDir(), "ORDERS_UNSET_URL=", "POSTGRES_PROVIDER=")
	begin := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, msg, ok := strings.Cut(string(out), "START-ERROR: ")
	if !ok {
		t.Fatalf("child printed no error:\n%s", out)
	}
	msg, _, _ = strings.Cut(msg, "\n")
	if !strings.Contains(msg, "Docker is not reachable") && !strings.Contains(msg, "could not be pulled") {
		t.Errorf("error does not say why the container failed: %s", msg)
	}
	for _, want := range []string{"no PostgreSQL available", "no PostgreSQL binaries", "apt-get install postgresql", "ORDERS_UNSET_URL"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	t.Logf("after %v: %s", time.Since(begin).Round(time.Millisecond), msg)
}

// TestContainerNamedReuse is what test/lab/devdb relies on: a named container keeps its
// data in a volume, Stop only stops it, and the next start finds it again.
func TestContainerNamedReuse(t *testing.T) {
	image := containerImage(t)
	ctx := context.Background()
	name := fmt.Sprintf("%s-postgres-test-%d", servicename.Name, time.Now().UnixNano())
	t.Cleanup(func() {
		_ = exec.Command("docker", "rm", "-f", name).Run()
		_ = exec.Command("docker", "volume", "rm", name).Run()
	})
	opts := postgres.ContainerOptions{Image: image, Name: name, DataVolume: name, Database: "orders", User: "orders", Password: "orders"}

	s, err := postgres.StartContainer(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	exec1(t, s.URL, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.AttachContainer(ctx, name, ""); !errors.Is(err, postgres.ErrNotRunning) {
		t.Fatalf("AttachContainer on a stopped container: %v, want ErrNotRunning", err)
	}

	begin := time.Now()
	s2, err := postgres.StartContainer(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restarting the stopped container took %v", time.Since(begin).Round(time.Millisecond))
	exec1(t, s2.URL, "SELECT id FROM kept")

	a, err := postgres.AttachContainer(ctx, name, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.URL != s2.URL {
		t.Errorf("AttachContainer URL %s, StartContainer URL %s", a.URL, s2.URL)
	}
	if err := postgres.StopContainer(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := postgres.StopContainer(ctx, name); !errors.Is(err, postgres.ErrNotRunning) {
		t.Errorf("second StopContainer: %v, want ErrNotRunning", err)
	}
}

func exec1(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// containerImage returns the image the container tests use. An image named in
// POSTGRES_IMAGE must work (CI names the one it provides); without it, a machine whose
// Docker cannot pull the official image skips the container tests, because the default
// image is unavailable to it, not broken: its database tests use the local binaries.
func containerImage(t *testing.T) string {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skipf("docker info fails (%v): no Docker engine on this machine", err)
	}
	image := postgres.Image()
	if os.Getenv("POSTGRES_IMAGE") == "" {
		if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
			if out, err := exec.Command("docker", "pull", "-q", image).CombinedOutput(); err != nil {
				t.Skipf("the default image %s cannot be pulled here (%s); set POSTGRES_IMAGE to test containers", image, strings.TrimSpace(string(out)))
			}
		}
	}
	return image
}
