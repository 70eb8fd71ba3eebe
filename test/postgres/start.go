package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Providers for Options.Prefer and $POSTGRES_PROVIDER.
const (
	ProviderAuto      = ""          // container, then local binaries
	ProviderContainer = "container" // container only
	ProviderLocal     = "local"     // local binaries only
)

// Options say how Start may obtain a server.
type Options struct {
	// URLEnv names an environment variable (TEST_DATABASE_URL, DATABASE_URL) whose
	// value, when set, is used as is and nothing is started.
	URLEnv string
	// Prefer is ProviderAuto, ProviderContainer or ProviderLocal; empty means
	// $POSTGRES_PROVIDER, and if that is empty too, auto.
	Prefer string
	// Database is the database the URL names (created if missing); default postgres.
	Database string
	// Ephemeral: a throwaway server for tests, fast and deleted by Stop. See
	// ContainerOptions.Ephemeral and LocalOptions.Ephemeral.
	Ephemeral bool
	// MaxConnections, when set, is the started server's max_connections (a benchmark
	// runs several pools against one server).
	MaxConnections int
	// Container and Local configure each provider; their Database and Ephemeral
	// default to the fields above.
	Container ContainerOptions
	Local     LocalOptions
	// Log receives progress lines from both providers; nil discards them.
	Log io.Writer
}

// Start obtains a server: from opts.URLEnv if set; else in a container; else from
// local binaries when the container cannot be had (no Docker, no image). The choice is
// Choose's, so that what `make test` announces is what happens; only a container that
// fails to start after Choose found Docker and the image falls back to the binaries on
// its own. The error, when nothing works, says what to install or set.
func Start(ctx context.Context, opts Options) (*Server, error) {
	plan, err := Choose(ctx, opts)
	if err != nil {
		return nil, err
	}
	if plan.Provider == ProviderEnv {
		return &Server{URL: plan.URL, How: plan.URLEnv, Provider: ProviderEnv}, nil
	}
	prefer := opts.Prefer
	if prefer == "" {
		prefer = os.Getenv("POSTGRES_PROVIDER")
	}
	copts, lopts := opts.Container, opts.Local
	if copts.Database == "" {
		copts.Database = opts.Database
	}
	if lopts.Database == "" {
		lopts.Database = opts.Database
	}
	copts.Ephemeral = copts.Ephemeral || opts.Ephemeral
	lopts.Ephemeral = lopts.Ephemeral || opts.Ephemeral
	copts.MaxConnections = max(copts.MaxConnections, opts.MaxConnections)
	lopts.MaxConnections = max(lopts.MaxConnections, opts.MaxConnections)
	if copts.Log == nil {
		copts.Log = opts.Log
	}
	if lopts.Log == nil {
		lopts.Log = opts.Log
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}

	if plan.Provider == ProviderContainer {
		s, cerr := StartContainer(ctx, copts)
		if cerr == nil {
			return s, nil
		}
		if prefer == ProviderContainer {
			return nil, fmt.Errorf("no PostgreSQL container (POSTGRES_PROVIDER=container): %w", cerr)
		}
		_, _ = fmt.Fprintf(log, "no container (%v); trying local PostgreSQL binaries\n", cerr)
		if plan, err = Choose(ctx, Options{Prefer: ProviderLocal, Local: opts.Local}); err != nil {
			return nil, noServerError(opts.URLEnv, copts.Image, cerr, errors.Unwrap(err))
		}
		plan.Image, plan.NoContainer = copts.withDefaults().Image, WhyNoContainer(cerr)
	}
	if plan.NoContainer != "" {
		_, _ = fmt.Fprintf(log, "no container (%s); using local PostgreSQL binaries\n", plan.NoContainer)
	}
	s, err := StartLocal(ctx, lopts)
	if err != nil {
		if prefer == ProviderLocal {
			return nil, fmt.Errorf("no local PostgreSQL (POSTGRES_PROVIDER=local): %w", err)
		}
		return nil, fmt.Errorf("the local PostgreSQL binaries did not start: %w", err)
	}
	if plan.NoContainer != "" {
		s.How += " (no container: " + plan.NoContainer + ")"
		s.NoContainer = plan.NoContainer
	}
	return s, nil
}

// noServerError says what failed and what would fix it.
func noServerError(urlEnv, image string, cerr, lerr error) error {
	if image == "" {
		image = Image()
	}
	var b strings.Builder
	b.WriteString("no PostgreSQL available: ")
	b.WriteString(cerr.Error())
	b.WriteString("; and ")
	if errors.Is(lerr, ErrNoBinaries) {
		b.WriteString(lerr.Error())
	} else {
		b.WriteString("the local PostgreSQL binaries did not start: " + lerr.Error())
	}
	b.WriteString(". Install Docker (with the image ")
	b.WriteString(image)
	b.WriteString(" pullable, or POSTGRES_IMAGE naming a local one), or install PostgreSQL (apt-get install postgresql)")
	if urlEnv != "" {
		b.WriteString(", or set " + urlEnv + " to a database you own")
	}
	b.WriteString(".")
	return &noServer{msg: b.String(), errs: []error{cerr, lerr}}
}

// noServer keeps both causes inspectable with errors.Is.
type noServer struct {
	msg  string
	errs []error
}

func (e *noServer) Error() string   { return e.msg }
func (e *noServer) Unwrap() []error { return e.errs }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
