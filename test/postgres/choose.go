package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net/url"
	"os"
	"strings"
)

// ProviderEnv is Server.Provider and Plan.Provider for a server named by Options.URLEnv.
const ProviderEnv = "env"

// Plan is what Start will use, decided without starting a server: `make test` prints
// it once (test/pgtest/cmd/where) before each test package starts its own, and Start
// follows it, so the line printed is the choice made.
type Plan struct {
	// Provider is ProviderEnv, ProviderContainer or ProviderLocal.
	Provider string
	// URLEnv and URL, for ProviderEnv.
	URLEnv, URL string
	// Image, for ProviderContainer; for ProviderLocal, the image that was not used.
	Image string
	// BinDir and Version of the local binaries, for ProviderLocal.
	BinDir, Version string
	// NoContainer says, for ProviderLocal chosen automatically, why no container: e.g.
	// "postgres:17-alpine cannot be pulled (no registry)".
	NoContainer string
}

// String is the plan in one line, e.g. "the image postgres:17-alpine, through
// testcontainers" or "the local PostgreSQL 15.18 binaries in /usr/lib/postgresql/15/bin
// (postgres:17-alpine cannot be pulled (no registry))".
func (p Plan) String() string {
	switch p.Provider {
	case ProviderEnv:
		return fmt.Sprintf("%s (%s); nothing is started", p.URLEnv, redact(p.URL))
	case ProviderContainer:
		return fmt.Sprintf("the image %s, through testcontainers", p.Image)
	case ProviderLocal:
		s := fmt.Sprintf("the local PostgreSQL %s binaries in %s", p.Version, p.BinDir)
		if p.NoContainer != "" {
			s += " (" + p.NoContainer + ")"
		}
		return s
	}
	return "nothing"
}

// redact drops the password from a URL (keyword/value strings are shown as "a
// connection string").
func redact(conn string) string {
	u, err := url.Parse(conn)
	if err != nil || u.Host == "" {
		return "a connection string"
	}
	return u.Host + u.Path
}

// Choose decides, as Start does, where the server will come from: opts.URLEnv if set;
// else, unless a provider is forced, a container if Docker answers and the image is
// present or can be pulled (it is pulled now); else the local binaries if there are
// any. It starts nothing.
func Choose(ctx context.Context, opts Options) (Plan, error) {
	if opts.URLEnv != "" {
		if u := os.Getenv(opts.URLEnv); u != "" {
			return Plan{Provider: ProviderEnv, URLEnv: opts.URLEnv, URL: u}, nil
		}
	}
	prefer := opts.Prefer
	if prefer == "" {
		prefer = os.Getenv("POSTGRES_PROVIDER")
	}
	copts := opts.Container.withDefaults()
	if opts.Container.Log == nil && opts.Log != nil {
		copts.Log = opts.Log
	}
	switch prefer {
	case ProviderContainer, ProviderLocal, ProviderAuto, "auto":
	default:
		return Plan{}, fmt.Errorf("POSTGRES_PROVIDER=%q: want %q, %q or empty", prefer, ProviderContainer, ProviderLocal)
	}

	var cerr error
	if prefer != ProviderLocal {
		if cerr = probeContainer(ctx, copts); cerr == nil {
			return Plan{Provider: ProviderContainer, Image: copts.Image}, nil
		}
		if prefer == ProviderContainer {
			return Plan{}, fmt.Errorf("no PostgreSQL container (POSTGRES_PROVIDER=container): %w", cerr)
		}
	}
	bins, lerr := probeLocal(opts.Local.BinDir)
	if lerr == nil {
		p := Plan{Provider: ProviderLocal, BinDir: bins.dir, Version: bins.version}
		if cerr != nil {
			p.Image, p.NoContainer = copts.Image, WhyNoContainer(cerr)
		}
		return p, nil
	}
	if prefer == ProviderLocal {
		return Plan{}, fmt.Errorf("no local PostgreSQL (POSTGRES_PROVIDER=local): %w", lerr)
	}
	return Plan{}, noServerError(opts.URLEnv, copts.Image, cerr, lerr)
}

// probeContainer checks what StartContainer needs before it runs anything: Docker
// answers and the images are here (pulled if need be).
func probeContainer(ctx context.Context, opts ContainerOptions) error {
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	d, err := connectDocker(ctx, stdlog.New(io.Discard, "", 0))
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.ensureImages(ctx, opts.Image, opts.Log)
}

// WhyNoContainer says in a few words why a container could not be had, e.g. "Docker
// is not reachable" or "postgres:17-alpine cannot be pulled (no registry)"; the full
// error is for logs.
func WhyNoContainer(err error) string {
	var w *wrapped
	switch {
	case errors.Is(err, ErrDockerUnreachable):
		return "Docker is not reachable"
	case errors.As(err, &w) && w.short != "":
		return w.short
	}
	s := firstLine(err.Error())
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return "the container did not start: " + s
}

// pullFailure says briefly why a pull failed.
func pullFailure(image string, err error) string {
	s := err.Error()
	for _, offline := range []string{"no such host", "dial tcp", "connection refused", "i/o timeout", "network is unreachable", "TLS handshake"} {
		if strings.Contains(s, offline) {
			return image + " cannot be pulled (no registry)"
		}
	}
	for _, missing := range []string{"not found", "manifest unknown", "pull access denied"} {
		if strings.Contains(s, missing) {
			return image + " cannot be pulled (the registry does not have it)"
		}
	}
	return image + " cannot be pulled"
}
