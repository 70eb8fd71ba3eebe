package kubernetes

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/example/orders/infrastructure/auth"
	"github.com/example/orders/test/lab/internal/repo"
	"github.com/example/orders/test/pgtest"
)

// testDir is this package's directory; the tests run in the manifests' directory,
// deploy/kubernetes.
var testDir string

// TestMain changes to deploy/kubernetes, whose files the tests read by relative paths,
// and runs them with PostgreSQL from pgtest.
func TestMain(m *testing.M) {
	var err error
	testDir, err = os.Getwd()
	if err == nil {
		var root string
		if root, err = repo.Root(); err == nil {
			err = os.Chdir(filepath.Join(root, "deploy", "kubernetes"))
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubernetes:", err)
		os.Exit(2)
	}
	pgtest.Main(m)
}

// imageEnv names an image (make image) to run instead of the binary built from
// ./cmd/orders; .ci/run sets it to the image it builds.
const imageEnv = "ORDERS_TEST_IMAGE"

// TestDeploymentEnvStartsReady runs what each overlay deploys, with the environment
// the kubelet would give it: the migration Job's container (migrate up, as a database
// owner without CREATEROLE, as CloudNativePG makes it), then the Deployment's (serve,
// as a login role in APP_DB_ROLE), and waits for /readyz to answer 200. Only the
// Secrets' values (which live in no manifest) and LISTEN_ADDR (a free port, since
// the test shares the host's network) are the test's own. With ORDERS_TEST_IMAGE set
// it runs that image, read-only, as the manifests' user, on the host network;
// otherwise the binary.
func TestDeploymentEnvStartsReady(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and the service")
	}
	image := os.Getenv(imageEnv)
	var binary string
	if image == "" {
		binary = filepath.Join(t.TempDir(), "orders")
		build := exec.Command("go", "build", "-o", binary, "../../cmd/orders")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	} else if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		t.Fatalf("%s=%s: docker image inspect: %v", imageEnv, image, err)
	}
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs := render(t, dir)
			if t.Failed() {
				return
			}
			dep := one[*appsv1.Deployment](t, objs)
			job := one[*batchv1.Job](t, objs)
			serveC, migrateC := dep.Spec.Template.Spec.Containers[0], job.Spec.Template.Spec.Containers[0]
			db := newClusterDatabase(t, containerEnv(t, objs, migrateC)["APP_DB_ROLE"])
			hs256 := "k8s-env-test-" + randomHex(16)
			secrets := map[string]string{
				"secret:orders-database/url":          db.serviceURL,
				"secret:orders-database-migrate/url":  db.ownerURL,
				"secret:orders-auth-dev/hs256-secret": hs256,
				"secret:orders-pii-kek/kek":           "dGVzdCBrZWs6IG5vdCBzZWNyZXQsIDMyIGJ5dGVzISE=",
			}
			run := runner{t: t, image: image, binary: binary}

			migrateEnv := resolve(t, containerEnv(t, objs, migrateC), secrets)
			out, err := run.command(migrateEnv, migrateC.Args...)
			if err != nil {
				t.Fatalf("the Job's container (%v) failed: %v\n%s", migrateC.Args, err, out)
			}
			t.Logf("migrate up: %s", strings.TrimSpace(lastLine(out)))

			serveEnv := resolve(t, containerEnv(t, objs, serveC), secrets)
			port := freePort(t)
			serveEnv["LISTEN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			logs := run.start(serveEnv, serveC.Args...)
			if !waitReady(base+serveC.ReadinessProbe.HTTPGet.Path, 60*time.Second) {
				t.Fatalf("%s: the Deployment's container never answered %s with 200\n%s", dir, serveC.ReadinessProbe.HTTPGet.Path, logs())
			}
			if code := get(base + serveC.LivenessProbe.HTTPGet.Path); code != http.StatusOK {
				t.Errorf("%s: liveness %s answered %d", dir, serveC.LivenessProbe.HTTPGet.Path, code)
			}
			// No token: 401 (authentication is on in every overlay).
			if code := get(base + "/orders"); code != http.StatusUnauthorized {
				t.Errorf("%s: GET /orders without a token answered %d, want 401", dir, code)
			}
			if serveEnv["AUTH_HS256_SECRET"] != "" {
				// The service writes through the app role the Job granted.
				tok, err := auth.Sign([]byte(hs256), "k8s-env-test", "", "", "", time.Hour, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				req, _ := http.NewRequest(http.MethodPost, base+"/orders", strings.NewReader(`{"currency":"EUR"}`))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("%s: POST /orders as the app role answered %d, want 201\n%s", dir, resp.StatusCode, logs())
				}
			}
		})
	}
}

// clusterDatabase is an empty database owned by a role without CREATEROLE, with the
// app role created beforehand (as docs/deploy.md says) and a login role in it.
type clusterDatabase struct{ ownerURL, serviceURL string }

func newClusterDatabase(t *testing.T, appRole string) clusterDatabase {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := pgtest.NewOwned(t, "k8s_env")
	svc := "k8s_svc_" + randomHex(5)
	db.DropRoleAtEnd(svc)
	var exists bool
	if err := db.Admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, appRole).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	stmts := []string{}
	if !exists {
		stmts = append(stmts, "CREATE ROLE "+pgx.Identifier{appRole}.Sanitize()+" NOLOGIN")
	}
	stmts = append(stmts, "CREATE ROLE "+svc+" LOGIN PASSWORD 'svc' IN ROLE "+pgx.Identifier{appRole}.Sanitize())
	for _, stmt := range stmts {
		if _, err := db.Admin.Exec(ctx, stmt); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return clusterDatabase{ownerURL: db.OwnerURL, serviceURL: db.URLAs(svc, "svc")}
}

// resolve puts the test's Secret values in; an unknown Secret fails.
func resolve(t *testing.T, env map[string]string, secrets map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range env {
		if strings.HasPrefix(v, "secret:") {
			s, ok := secrets[v]
			if !ok {
				t.Fatalf("%s comes from %s, which this test does not know", k, v)
			}
			v = s
		}
		if v == "fieldref" {
			t.Fatalf("%s comes from a fieldRef or resourceFieldRef, which this test does not resolve", k)
		}
		out[k] = v
	}
	return out
}

// runner runs the service's binary, or its image in Docker as the manifests would.
type runner struct {
	t      *testing.T
	image  string
	binary string
}

func (r runner) cmd(env map[string]string, detach bool, args ...string) *exec.Cmd {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range env {
			if !yield(k) {
				return
			}
		}
	})
	var vars []string
	for _, k := range keys {
		vars = append(vars, k+"="+env[k])
	}
	if r.image == "" {
		c := exec.Command(r.binary, args...)
		c.Env = append([]string{"PATH=" + os.Getenv("PATH")}, vars...)
		return c
	}
	// The manifests' securityContext: read-only root, user 65532, no capabilities.
	docker := []string{"run", "--rm", "--network", "host", "--read-only", "--cap-drop", "ALL",
		"--security-opt", "no-new-privileges", "--user", "65532:65532"}
	if detach {
		docker = append(docker, "-d")
	}
	for _, k := range keys {
		docker = append(docker, "-e", k) // the value comes from docker's environment, not its arguments
	}
	docker = append(append(docker, r.image), args...)
	c := exec.Command("docker", docker...)
	c.Env = append(os.Environ(), vars...)
	return c
}

// command runs to the end and returns its output.
func (r runner) command(env map[string]string, args ...string) (string, error) {
	out, err := r.cmd(env, false, args...).CombinedOutput()
	return string(out), err
}

// start starts a long-running command, stopped when the test ends; it returns a
// function that gives its output so far.
func (r runner) start(env map[string]string, args ...string) func() string {
	t := r.t
	t.Helper()
	var out bytes.Buffer
	c := r.cmd(env, r.image != "", args...)
	if r.image != "" {
		id, err := c.Output()
		if err != nil {
			t.Fatalf("docker run: %v", err)
		}
		container := strings.TrimSpace(string(id))
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", container).Run() })
		return func() string {
			logs, _ := exec.Command("docker", "logs", container).CombinedOutput()
			return string(logs)
		}
	}
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Process.Kill()
		_ = c.Wait()
	})
	return func() string { return out.String() }
}

func waitReady(u string, within time.Duration) bool {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if get(u) == http.StatusOK {
			return true
		}
	}
	return false
}

func get(u string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u) //nolint:noctx // a probe with a client timeout
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// TestImageHasCARoots: the FROM scratch image carries CA roots where Go looks for
// them, so an https JWKS (what overlays/prod configures) or OTLP endpoint can be
// verified. It needs ORDERS_TEST_IMAGE (.ci/run sets it).
func TestImageHasCARoots(t *testing.T) {
	image := os.Getenv(imageEnv)
	if image == "" {
		t.Skip(imageEnv + " is not set")
	}
	id, err := exec.Command("docker", "create", image).Output()
	if err != nil {
		t.Fatalf("docker create %s: %v", image, err)
	}
	container := strings.TrimSpace(string(id))
	defer func() { _ = exec.Command("docker", "rm", "-f", container).Run() }()
	dst := filepath.Join(t.TempDir(), "ca.crt")
	if out, err := exec.Command("docker", "cp", container+":/etc/ssl/certs/ca-certificates.crt", dst).CombinedOutput(); err != nil {
		t.Fatalf("the image has no /etc/ssl/certs/ca-certificates.crt: %v\n%s", err, out)
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("the image's ca-certificates.crt holds no certificate")
	}
	if n := bytes.Count(data, []byte("BEGIN CERTIFICATE")); n < 10 {
		t.Errorf("the image's ca-certificates.crt holds %d certificates, want a CA bundle", n)
	}
}
