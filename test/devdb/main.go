// Command devdb provisions the development database for `make run`:
//
//	go run ./test/devdb up     # start (or find) it; print its URL on stdout
//	go run ./test/devdb url    # print the URL of the running one, or fail
//	go run ./test/devdb down   # stop it; the data stays for the next up
//
// Only the URL goes to stdout (DATABASE_URL=$(go run ./test/devdb up)); what was
// chosen and why goes to stderr.
//
// up prefers a server that already runs. Otherwise it tries a container named
// orders-devdb from $POSTGRES_IMAGE (default postgres:17-alpine) with its data in the
// volume orders-devdb-data, published on port 5433 if free; and when Docker or the
// image is not available, the local PostgreSQL binaries with the data in
// <repo>/.devdb/pgdata, on 127.0.0.1:5433. POSTGRES_PROVIDER=container|local forces
// one. The server keeps running after devdb exits, which is why testcontainers' reaper
// is disabled here.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/example/orders/test/postgres"
	"github.com/example/orders/test/testsupport"
)

const (
	containerName = "orders-devdb"
	volumeName    = "orders-devdb-data"
	port          = 5433
	database      = "orders"
	user          = "orders"
	password      = "orders"
)

func main() {
	cmd := "up"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	if len(os.Args) > 2 || (cmd != "up" && cmd != "down" && cmd != "url") {
		fmt.Fprintln(os.Stderr, "usage: go run ./test/devdb [up|down|url]")
		os.Exit(2)
	}
	// The reaper would remove the container as soon as this process exits.
	if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err != nil {
		fail(err)
	}
	// testcontainers' default logger prints a Docker banner on every connection;
	// what matters is printed below, and a start's progress goes to stderr anyway.
	tclog.SetDefault(tclog.NewNoopLogger())
	root, err := testsupport.ModuleRoot()
	if err != nil {
		fail(err)
	}
	d := devdb{
		provider: os.Getenv("POSTGRES_PROVIDER"),
		local: postgres.LocalOptions{
			DataDir:  filepath.Join(root, ".devdb", "pgdata"),
			Port:     port,
			Database: database,
			Log:      os.Stderr,
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
	}
	if err != nil {
		fail(err)
	}
}

type devdb struct {
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
		report(s, "reusing")
		return nil
	}
	s, err := postgres.Start(ctx, postgres.Options{
		Prefer:   d.provider,
		Database: database,
		Container: postgres.ContainerOptions{
			Name:       containerName,
			DataVolume: volumeName,
			HostPort:   port,
			User:       user,
			Password:   password,
			Log:        os.Stderr,
		},
		Local: d.local,
		Log:   os.Stderr,
	})
	if err != nil {
		return err
	}
	report(s, "started")
	return nil
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
			fmt.Fprintf(os.Stderr, "devdb: stopped the local server (data kept in %s)\n", d.local.DataDir)
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
		return fmt.Errorf("no development database is running (start it with: go run ./test/devdb up): %w", err)
	}
	report(s, "running:")
	return nil
}

// report prints how on stderr and the URL, alone, on stdout.
func report(s *postgres.Server, verb string) {
	fmt.Fprintf(os.Stderr, "devdb: %s %s\n", verb, s.How)
	fmt.Println(s.URL)
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
