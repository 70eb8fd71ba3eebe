// Command devdb provisions the development database for `make run` (which builds it
// into bin/lab/devdb; `make db-down` runs its down):
//
//	devdb up      # start (or find) it; print its URL on stdout
//	devdb url     # print the URL of the running one, or fail
//	devdb down    # stop it; the data stays for the next up
//	devdb app-url # the URL of the application role (<name>_app), created if missing
//
// Only the URL goes to stdout (DATABASE_URL=$(bin/lab/devdb up)); what was chosen and
// why goes to stderr. It works on the repository it runs in (internal/repo.Root),
// whichever directory of it that is.
//
// up prefers a server that already runs. Otherwise it tries a container named
// <name>-devdb (name: servicename.Name) from $POSTGRES_IMAGE (default
// postgres:17-alpine) with its data in the volume <name>-devdb-data, published on port
// 5433 if free; and when Docker or the image is not available, the local PostgreSQL
// binaries with the data in <repo>/.devdb/pgdata, on 127.0.0.1:5433.
// POSTGRES_PROVIDER=container|local forces one. The database and its user are both
// named <name>. The server keeps running after devdb exits (until `make db-down`),
// which is why testcontainers' reaper is disabled here.
//
// up prints one line on stderr that says which server it is, and why when it is not a
// container; the start's progress is shown only when the start fails.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/example/orders/infrastructure/servicename"
	"github.com/example/orders/test/lab/internal/repo"
	"github.com/example/orders/test/postgres"
	"github.com/example/orders/test/testsupport"
)

const (
	containerName = servicename.Name + "-devdb"
	volumeName    = servicename.Name + "-devdb-data"
	port          = 5433
	database      = servicename.Name
	user          = servicename.Name
	password      = servicename.Name
)

func main() {
	cmd := "up"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	if len(os.Args) > 2 || (cmd != "up" && cmd != "down" && cmd != "url" && cmd != "app-url") {
		fmt.Fprintln(os.Stderr, "usage: devdb [up|down|url|app-url]")
		os.Exit(2)
	}
	// The reaper would remove the container as soon as this process exits.
	if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err != nil {
		fail(err)
	}
	// testcontainers' default logger prints a Docker banner on every connection;
	// what matters is printed below, and a start's progress goes to stderr anyway.
	tclog.SetDefault(tclog.NewNoopLogger())
	root, err := repo.Root()
	if err != nil {
		fail(err)
	}
	d := devdb{
		root:     root,
		provider: os.Getenv("POSTGRES_PROVIDER"),
		local: postgres.LocalOptions{
			DataDir:  filepath.Join(root, ".devdb", "pgdata"),
			Port:     port,
			Database: database,
		},
	}
	if d.provider != "" && d.provider != postgres.ProviderContainer && d.provider != postgres.ProviderLocal {
		fail(fmt.Errorf("POSTGRES_PROVIDER=%q: want %q, %q or empty", d.provider, postgres.ProviderContainer, postgres.ProviderLocal))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	switch cmd {
	case "up":
		err = d.up(ctx)
	case "down":
		err = d.down(ctx)
	case "url":
		err = d.url(ctx)
	case "app-url":
		err = d.appURL(ctx)
	}
	if err != nil {
		fail(err)
	}
}

type devdb struct {
	root     string
	provider string
	local    postgres.LocalOptions
}

func (d devdb) mayContainer() bool { return d.provider != postgres.ProviderLocal }
func (d devdb) mayLocal() bool     { return d.provider != postgres.ProviderContainer }

// running returns the development server that runs already, if any.
func (d devdb) running(ctx context.Context) (*postgres.Server, error) {
	var errs []error
	if d.mayContainer() {
		s, err := postgres.AttachContainer(ctx, containerName, database)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	if d.mayLocal() {
		s, err := postgres.AttachLocal(ctx, d.local)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	return nil, joinErrors(errs)
}

func (d devdb) up(ctx context.Context) error {
	if s, err := d.running(ctx); err == nil {
		d.report(s, "reusing")
		return nil
	}
	// The start's progress (pull, initdb, pg_ctl) is kept for a failure; only a pull,
	// which may take a while, is announced as it happens.
	var progress bytes.Buffer
	log := &announcePulls{buf: &progress}
	defer log.Write(nil) //nolint:errcheck // stops a pending announcement
	s, err := postgres.Start(ctx, postgres.Options{
		Prefer:   d.provider,
		Database: database,
		Container: postgres.ContainerOptions{
			Name:       containerName,
			DataVolume: volumeName,
			HostPort:   port,
			User:       user,
			Password:   password,
		},
		Local: d.local,
		Log:   log,
	})
	if err != nil {
		if progress.Len() > 0 {
			fmt.Fprintf(os.Stderr, "devdb: progress until the failure:\n%s", progress.String())
		}
		return err
	}
	d.report(s, "started")
	return nil
}

// announcePulls keeps everything, and announces on stderr a pull that takes more than
// a moment: a pull that fails at once (no registry) would only add a line that the
// outcome's line contradicts.
type announcePulls struct {
	mu    sync.Mutex
	buf   *bytes.Buffer
	timer *time.Timer
}

func (a *announcePulls) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop() // whatever follows "pulling" means the pull is over
		a.timer = nil
	}
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if image, ok := strings.CutPrefix(strings.TrimSpace(line), "pulling "); ok {
			a.timer = time.AfterFunc(2*time.Second, func() {
				fmt.Fprintf(os.Stderr, "devdb: pulling %s (once; later starts reuse it)\n", image)
			})
		}
	}
	return a.buf.Write(p)
}

func (d devdb) down(ctx context.Context) error {
	stopped := false
	if d.mayContainer() {
		switch err := postgres.StopContainer(ctx, containerName); {
		case err == nil:
			fmt.Fprintf(os.Stderr, "devdb: stopped container %s (data kept in volume %s)\n", containerName, volumeName)
			stopped = true
		case errors.Is(err, postgres.ErrNotRunning), errors.Is(err, postgres.ErrDockerUnreachable):
		default:
			return err
		}
	}
	if d.mayLocal() {
		switch err := postgres.StopLocal(ctx, d.local); {
		case err == nil:
			fmt.Fprintf(os.Stderr, "devdb: stopped the local server (data kept in %s)\n", d.rel(d.local.DataDir))
			stopped = true
		case errors.Is(err, postgres.ErrNotRunning), errors.Is(err, postgres.ErrNoBinaries):
		default:
			return err
		}
	}
	if !stopped {
		fmt.Fprintln(os.Stderr, "devdb: no development database was running")
	}
	return nil
}

func (d devdb) url(ctx context.Context) error {
	s, err := d.running(ctx)
	if err != nil {
		return fmt.Errorf("no development database is running (start it with: make run): %w", err)
	}
	d.report(s, "running:")
	return nil
}

// appURL prints the URL of the application role that the service logs in as: the
// role `migrate up` grants its privileges to (APP_DB_ROLE, default <database>_app),
// created here with LOGIN and a development password (its name) if missing.
func (d devdb) appURL(ctx context.Context) error {
	s, err := d.running(ctx)
	if err != nil {
		return fmt.Errorf("no development database is running (start it with: make run): %w", err)
	}
	role := database + "_app"
	if err := testsupport.EnsureLoginRole(ctx, s.URL, role, role); err != nil {
		return err
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return err
	}
	u.User = url.UserPassword(role, role)
	fmt.Println(u.String())
	return nil
}

// report prints, on stderr, one line that says which server this is and, for local
// binaries chosen automatically, why no container; and the URL, alone, on stdout.
func (d devdb) report(s *postgres.Server, verb string) {
	where := ""
	if u, err := url.Parse(s.URL); err == nil && u.Host != "" {
		where = ", on " + u.Host
	}
	switch {
	case s.Provider == postgres.ProviderLocal && verb == "started":
		line := fmt.Sprintf("started the local PostgreSQL %s binaries, data in %s%s", major(s.Version), d.rel(s.DataDir), where)
		if s.NoContainer != "" {
			line = s.NoContainer + "; " + line
		}
		fmt.Fprintf(os.Stderr, "devdb: %s\n", line)
	case s.Provider == postgres.ProviderLocal:
		fmt.Fprintf(os.Stderr, "devdb: %s the local PostgreSQL %s, data in %s%s\n", verb, major(s.Version), d.rel(s.DataDir), where)
	default:
		fmt.Fprintf(os.Stderr, "devdb: %s %s%s\n", verb, s.How, where)
	}
	fmt.Println(s.URL)
}

// rel shows a path under the repository relative to it.
func (d devdb) rel(p string) string {
	if r, err := filepath.Rel(d.root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// major is 15 of 15.8.
func major(version string) string {
	m, _, _ := strings.Cut(version, ".")
	return m
}

func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return postgres.ErrNotRunning
	case 1:
		return errs[0]
	}
	return fmt.Errorf("%w; %w", errs[0], joinErrors(errs[1:]))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "devdb: %v\n", err)
	os.Exit(1)
}
