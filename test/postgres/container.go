package postgres

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// DefaultImage is the image users get unless POSTGRES_IMAGE names another: the
// official one, the same major version as production.
const DefaultImage = "postgres:17-alpine"

// Image returns the container image to use: $POSTGRES_IMAGE, or DefaultImage. A
// machine that cannot pull can point it at a locally built image (see
// .ci/postgres-image/build.sh).
func Image() string {
	if img := os.Getenv("POSTGRES_IMAGE"); img != "" {
		return img
	}
	return DefaultImage
}

// dataMount is where the official image keeps its cluster (up to PostgreSQL 17).
const dataMount = "/var/lib/postgresql/data"

var pgPort = network.MustParsePort("5432/tcp")

// ContainerOptions configure a server in a container.
type ContainerOptions struct {
	// Image defaults to Image().
	Image string
	// Name, when set, makes the container findable again: an existing container of
	// that name is reused (started if stopped), and Stop only stops it. Without a
	// name the container is anonymous and Stop removes it.
	Name string
	// DataVolume, when set, is a named Docker volume mounted on the data directory, so
	// that the data outlives the container.
	DataVolume string
	// HostPort, when set, is the host port to publish 5432 on. If it is taken, Docker
	// picks one instead (the URL says which).
	HostPort int
	// Database, User and Password default to postgres.
	Database, User, Password string
	// Ephemeral runs the server without durability (fsync, synchronous_commit and
	// full_page_writes off): for tests only, never for development or benchmarks.
	Ephemeral bool
	// MaxConnections, when set, is the server's max_connections.
	MaxConnections int
	// StartTimeout bounds the whole start, pull included; default 90s.
	StartTimeout time.Duration
	// Log receives testcontainers' progress lines; nil discards them.
	Log io.Writer
}

func (o ContainerOptions) withDefaults() ContainerOptions {
	if o.Image == "" {
		o.Image = Image()
	}
	if o.Database == "" {
		o.Database = "postgres"
	}
	if o.User == "" {
		o.User = "postgres"
	}
	if o.Password == "" {
		o.Password = "postgres"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 90 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// StartContainer starts PostgreSQL in a container through testcontainers-go. It fails
// fast, with ErrDockerUnreachable or ErrImageUnavailable, when Docker is missing or
// the image is neither present nor pullable, so that Start can fall back at once.
//
// testcontainers' reaper (Ryuk) is left to the environment: with
// TESTCONTAINERS_RYUK_DISABLED=true nothing but Stop removes the container, so callers
// must call it (pgtest.Main does).
func StartContainer(ctx context.Context, opts ContainerOptions) (*Server, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	logger := stdlog.New(opts.Log, "testcontainers: ", 0)

	d, err := connectDocker(ctx, logger)
	if err != nil {
		return nil, err
	}
	defer func() { _ = d.Close() }()
	if err := d.ensureImages(ctx, opts.Image, opts.Log); err != nil {
		return nil, err
	}

	ctr, err := runContainer(ctx, opts, logger, opts.HostPort)
	if err != nil && opts.HostPort != 0 && portConflict(err) {
		_, _ = fmt.Fprintf(opts.Log, "host port %d is taken; letting Docker choose one\n", opts.HostPort)
		ctr, err = runContainer(ctx, opts, logger, 0)
	}
	if err != nil {
		return nil, err
	}

	// A reused container may have been created for another database: make sure.
	url, err := d.containerURL(ctx, ctr.GetContainerID(), "postgres")
	if err == nil {
		err = waitReady(ctx, url)
	}
	if err == nil {
		err = ensureDatabase(ctx, url, opts.Database)
	}
	if err == nil {
		url, err = d.containerURL(ctx, ctr.GetContainerID(), opts.Database)
	}
	if err != nil {
		_ = stopContainer(context.WithoutCancel(ctx), ctr, opts.Name) // cleanup, also when ctx ran out
		return nil, fmt.Errorf("container %s: %w", opts.Image, err)
	}
	how := "container " + opts.Image
	if opts.Name != "" {
		how = fmt.Sprintf("container %s (%s", opts.Name, opts.Image)
		if opts.DataVolume != "" {
			how += ", volume " + opts.DataVolume
		}
		how += ")"
	}
	return &Server{
		URL:      url,
		How:      how,
		Provider: ProviderContainer,
		stop:     func(ctx context.Context) error { return stopContainer(ctx, ctr, opts.Name) },
	}, nil
}

// runContainer creates (or, by name, reuses) and starts the container and waits for it.
// A failed container is removed unless it is a named one that might hold data.
func runContainer(ctx context.Context, opts ContainerOptions, logger *stdlog.Logger, hostPort int) (*tcpostgres.PostgresContainer, error) {
	cmd := []string{"postgres"} // replaces the module's default "-c fsync=off"
	if opts.Ephemeral {
		cmd = append(cmd, ephemeralSettings...)
	}
	if opts.MaxConnections > 0 {
		cmd = append(cmd, "-c", fmt.Sprintf("max_connections=%d", opts.MaxConnections))
	}
	customizers := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(logger),
		tcpostgres.WithDatabase(opts.Database),
		tcpostgres.WithUsername(opts.User),
		tcpostgres.WithPassword(opts.Password),
		testcontainers.WithCmd(cmd...),
		// SIGINT is PostgreSQL's fast shutdown; the default SIGTERM waits for clients.
		testcontainers.WithConfigModifier(func(c *container.Config) { c.StopSignal = "SIGINT" }),
	}
	// Like tcpostgres.BasicWaitStrategies, but the port is only checked from inside
	// the container: testcontainers guesses the host wrongly on some machines (see
	// containerURL), and waitReady's query from here is the real external check.
	port := wait.ForListeningPort("5432/tcp").SkipExternalCheck()
	if opts.Name != "" || opts.DataVolume != "" {
		// A reused container or an initialised volume prints "ready to accept
		// connections" once per start and keeps old logs, so counting log lines proves
		// nothing; the port plus waitReady's query do.
		customizers = append(customizers, testcontainers.WithWaitStrategy(port))
	} else {
		// The image's entrypoint starts the server twice (init, then for real).
		customizers = append(customizers, testcontainers.WithWaitStrategy(
			wait.ForLog("database system is ready to accept connections").WithOccurrence(2), port))
	}
	if opts.Name != "" {
		customizers = append(customizers, testcontainers.WithReuseByName(opts.Name))
	}
	if opts.Ephemeral && opts.DataVolume == "" {
		// Throwaway data in memory: creating a database (one per test) creates some
		// 300 files, which costs a quarter of a second on some virtual disks.
		customizers = append(customizers, testcontainers.WithTmpfs(map[string]string{dataMount: "rw"}))
	}
	if opts.DataVolume != "" {
		customizers = append(customizers, testcontainers.WithMounts(testcontainers.VolumeMount(opts.DataVolume, dataMount)))
	}
	if hostPort != 0 {
		customizers = append(customizers, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{pgPort: {{HostIP: netip.IPv4Unspecified(), HostPort: fmt.Sprint(hostPort)}}}
		}))
	}

	ctr, err := tcpostgres.Run(ctx, opts.Image, customizers...)
	if err != nil {
		if ctr != nil && ctr.Container != nil {
			if opts.Name == "" || portConflict(err) {
				// An anonymous container is useless now; a named one that cannot bind
				// its port must be recreated (a DataVolume keeps the data).
				_ = ctr.Terminate(context.WithoutCancel(ctx)) // cleanup, also when ctx ran out
			} else {
				_ = ctr.Stop(context.WithoutCancel(ctx), nil) // cleanup, also when ctx ran out
			}
		}
		return nil, fmt.Errorf("container %s: %w%s", opts.Image, err, ryukHint(err))
	}
	return ctr, nil
}

func stopContainer(ctx context.Context, ctr *tcpostgres.PostgresContainer, name string) error {
	if name != "" {
		return ctr.Stop(ctx, nil) // keep it (and its data) for the next start
	}
	return ctr.Terminate(ctx)
}

func portConflict(err error) bool {
	s := err.Error()
	return strings.Contains(s, "port is already allocated") || strings.Contains(s, "address already in use")
}

func ryukHint(err error) string {
	if strings.Contains(strings.ToLower(err.Error()), "reaper") {
		return " (testcontainers' reaper could not start; set TESTCONTAINERS_RYUK_DISABLED=true where its image cannot be pulled)"
	}
	return ""
}

// AttachContainer returns the running container of this name, or an error wrapping
// ErrNotRunning. Its Stop stops (not removes) the container. test/lab/devdb uses it for
// "url" and "down". Database defaults to the container's POSTGRES_DB.
func AttachContainer(ctx context.Context, name, database string) (*Server, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	d, err := connectDocker(ctx, stdlog.New(io.Discard, "", 0))
	if err != nil {
		return nil, err
	}
	defer func() { _ = d.Close() }()
	info, err := d.inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	if info.State == nil || !info.State.Running {
		return nil, fmt.Errorf("container %s exists but is stopped: %w", name, ErrNotRunning)
	}
	url, err := d.containerURL(ctx, name, database)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, url); err != nil {
		return nil, fmt.Errorf("container %s runs but PostgreSQL does not answer: %w", name, err)
	}
	return &Server{
		URL:      url,
		How:      fmt.Sprintf("container %s (%s, already running)", name, info.Config.Image),
		Provider: ProviderContainer,
		stop: func(ctx context.Context) error {
			d, err := connectDocker(ctx, stdlog.New(io.Discard, "", 0))
			if err != nil {
				return err
			}
			defer func() { _ = d.Close() }()
			return d.stop(ctx, name)
		},
	}, nil
}

// StopContainer stops the named container; the container and its data stay. It
// returns an error wrapping ErrNotRunning if there is no such container or it is
// already stopped.
func StopContainer(ctx context.Context, name string) error {
	d, err := connectDocker(ctx, stdlog.New(io.Discard, "", 0))
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	info, err := d.inspect(ctx, name)
	if err != nil {
		return err
	}
	if info.State == nil || !info.State.Running {
		return fmt.Errorf("container %s is stopped already: %w", name, ErrNotRunning)
	}
	return d.stop(ctx, name)
}

// containerURL builds the URL of a running container from what it was created with
// (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; a reused container keeps its own)
// and the host port 5432 is published on. database overrides POSTGRES_DB.
func (d *dockerConn) containerURL(ctx context.Context, id, database string) (string, error) {
	info, err := d.inspect(ctx, id)
	if err != nil {
		return "", err
	}
	env := map[string]string{"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "postgres"}
	if info.Config != nil {
		for _, kv := range info.Config.Env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	if database == "" {
		database = env["POSTGRES_DB"]
		if database == "" {
			database = env["POSTGRES_USER"]
		}
	}
	var hostPort string
	if info.NetworkSettings != nil {
		if b := info.NetworkSettings.Ports[pgPort]; len(b) > 0 {
			hostPort = b[0].HostPort
		}
	}
	if hostPort == "" {
		return "", fmt.Errorf("container %s publishes no port for 5432", id)
	}
	host, err := d.reachableHost(ctx, hostPort)
	if err != nil {
		return "", err
	}
	u := &url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]),
		Host:     net.JoinHostPort(host, hostPort),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String(), nil
}
