// Package postgres provisions a PostgreSQL server for whoever needs a real one: the
// tests (through package pgtest), `make run` (through test/lab/devdb) and benchmarks.
//
// There are three ways to get a server, tried in this order by [Start]:
//
//   - a URL in an environment variable (TEST_DATABASE_URL, DATABASE_URL, ...), for CI
//     services and for developers who keep their own server;
//   - a container, through testcontainers-go, from the image [Image] (the official
//     postgres:17-alpine unless POSTGRES_IMAGE says otherwise);
//   - the PostgreSQL binaries installed on the machine (initdb, pg_ctl, postgres),
//     for machines where Docker is missing or cannot pull the image.
//
// Every way returns a [Server]: a URL, a line that says how the server was obtained
// (printed by the callers, so nobody has to guess which database a run used), and a
// Stop method that undoes what the start did.
package postgres

import (
	"context"
	"sync"
)

// Server is a running PostgreSQL server and the way to stop it again.
type Server struct {
	// URL connects as a superuser (or, for a URL from the environment, as whoever the
	// URL names) to the database the caller asked for.
	URL string
	// How says in words where the server comes from, e.g. "container
	// orders-postgres:15-debian" or "local PostgreSQL 15.8 in /tmp/pg-123/data".
	How string
	// Provider is ProviderEnv, ProviderContainer or ProviderLocal.
	Provider string
	// NoContainer says why a local server was started rather than a container, in a
	// few words (see WhyNoContainer); empty when no container was wanted.
	NoContainer string
	// DataDir is a local server's data directory, Version its PostgreSQL version.
	DataDir, Version string

	stop     func(context.Context) error
	stopOnce sync.Once
	stopErr  error
}

// Stop undoes the start: an ephemeral server is removed with its data, a persistent
// one (named container, data directory of the caller's choosing) is only stopped, and
// a server from the environment is left alone. Stop may be called more than once and
// on a nil *Server.
func (s *Server) Stop(ctx context.Context) error {
	if s == nil || s.stop == nil {
		return nil
	}
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}
