package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/test/postgres"
)

// environment is what every scenario runs against: one PostgreSQL, one database, the
// service on it, and a pgx pool on the same database for the raw-SQL baselines.
type environment struct {
	cfg        config
	db         *postgres.Server
	pool       *pgxpool.Pool
	service    *service
	http       *httpClient
	crud       *service    // the CRUD baseline server (test/lab/bench/crudserver)
	crudHTTP   *httpClient // a client of crud
	postmaster int         // 0 when PostgreSQL's processes are not visible here
	placed     []string
	serviceBin string   // the service's binary, to restart it
	consumers  bool     // whether the service runs its asynchronous consumers
	pprofAddr  string   // the service's profiler listener, with -cpuprofile
	crudPprof  string   // the CRUD server's, with -cpuprofile
	profiles   []string // CPU profiles written
}

// setUp starts PostgreSQL and the service. cleanup undoes whatever part of that
// succeeded, and is never nil.
func setUp(ctx context.Context, cfg config, rep *report) (*environment, func(), error) {
	env := &environment{cfg: cfg}
	var tmp string
	cleanup := func() {
		if env.crud != nil {
			if err := env.crud.stop(); err != nil {
				logf("stopping the CRUD server: %v", err)
			}
		}
		if env.service != nil {
			if err := env.service.stop(); err != nil {
				logf("stopping the service: %v", err)
			}
			if err := os.WriteFile(serverLogPath(cfg), []byte(env.service.out.String()), 0o600); err == nil {
				logf("service log: %s", serverLogPath(cfg))
			}
		}
		if env.pool != nil {
			env.pool.Close()
		}
		if env.db != nil {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute) // ctx may be cancelled (Ctrl-C) by now
			if err := env.db.Stop(stopCtx); err != nil {
				logf("stopping PostgreSQL: %v", err)
			} else if env.db.How != "BENCH_DATABASE_URL" {
				logf("PostgreSQL stopped and removed")
			}
			cancel()
		}
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
	}

	if err := os.MkdirAll(cfg.outDir, 0o750); err != nil {
		return env, cleanup, err
	}
	begin := time.Now()
	db, err := startDatabase(ctx)
	if err != nil {
		return env, cleanup, fmt.Errorf("PostgreSQL: %w", err)
	}
	env.db = db
	logf("PostgreSQL: %s (ready after %v)", db.How, time.Since(begin).Round(time.Millisecond))

	pcfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		return env, cleanup, err
	}
	pcfg.MaxConns = int32(cfg.maxConcurrency() + 4) //nolint:gosec // a few hundred at most
	if env.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return env, cleanup, err
	}
	info, err := readPGInfo(ctx, env.pool, db.How)
	if err != nil {
		return env, cleanup, fmt.Errorf("PostgreSQL settings: %w", err)
	}
	rep.Postgres = info
	printPG(info)
	if !info.Durable {
		logf("WARNING: this server does not commit durably (fsync or synchronous_commit off): " +
			"the numbers are not those of the real commit path")
		rep.Notes = append(rep.Notes, "the server was NOT durable (fsync or synchronous_commit off)")
	}
	env.postmaster = findPostmaster(ctx, env.pool)

	if tmp, err = os.MkdirTemp("", "orders-bench-"); err != nil {
		return env, cleanup, err
	}
	begin = time.Now()
	bin, err := buildService(ctx, cfg.root, tmp)
	if err != nil {
		return env, cleanup, err
	}
	logf("built ./cmd/orders in %v", time.Since(begin).Round(time.Millisecond))
	if cfg.cpuProfile {
		port, err := freePort()
		if err != nil {
			return env, cleanup, err
		}
		env.pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		if port, err = freePort(); err != nil {
			return env, cleanup, err
		}
		env.crudPprof = fmt.Sprintf("127.0.0.1:%d", port)
	}
	env.serviceBin = bin
	if env.service, err = startService(ctx, bin, db.URL, cfg.maxConns, env.pprofAddr, cfg.serverLogTee, env.consumers); err != nil {
		return env, cleanup, err
	}
	rep.Service = serviceInfo{URL: env.service.URL, PID: env.service.pid, MaxConns: cfg.maxConns, LogLevel: "warn",
		Commit: gitDescribe(cfg.root)}
	logf("service: pid %d on %s (serve --migrate, DB_MAX_CONNS=%d, LOG_LEVEL=warn), built from %s",
		env.service.pid, env.service.URL, cfg.maxConns, rep.Service.Commit)
	env.http = newHTTPClient(env.service.URL, cfg.maxConcurrency())

	crudBin, err := buildBinary(ctx, filepath.Join(cfg.root, "test", "lab"), tmp, "./bench/crudserver", "crudserver") // in the lab's module
	if err != nil {
		return env, cleanup, err
	}
	if env.crud, err = startCRUD(ctx, crudBin, db.URL, cfg.maxConns, env.crudPprof); err != nil {
		return env, cleanup, fmt.Errorf("CRUD server: %w", err)
	}
	logf("CRUD baseline server: pid %d on %s (echo + pgx, one INSERT per place, one UPDATE+INSERT transaction per add line)", env.crud.pid, env.crud.URL)
	env.crudHTTP = newHTTPClient(env.crud.URL, cfg.maxConcurrency())
	return env, cleanup, nil
}

func printPG(info pgInfo) {
	logf("PostgreSQL version: %s", info.Version)
	s := ""
	for _, kv := range info.Settings {
		s += fmt.Sprintf(" %s=%s", kv[0], kv[1])
	}
	logf("PostgreSQL settings:%s", s)
}

// cpuNow reads the CPU counters of the service, PostgreSQL, this process and the
// machine.
func (env *environment) cpuNow() cpuTimes {
	var t cpuTimes
	t.service, _ = processCPU(env.service.pid, false)
	if env.crud != nil {
		t.crud, _ = processCPU(env.crud.pid, false)
	}
	t.svcReads, t.svcWrites = syscalls(env.service.pid)
	t.harness, _ = processCPU(os.Getpid(), false)
	if env.postmaster > 0 {
		t.postgres, t.pgKnown = postgresCPU(env.postmaster)
	}
	t.busy, t.steal, t.total, _ = machineCPU()
	return t
}

// settle waits (up to timeout) until the service's asynchronous consumers, if it runs
// them, have handled every event written so far, so that the CPU they spend on a
// run's events is counted in that run and not in the next one's. It reports whether
// they got there.
func (env *environment) settle(ctx context.Context, timeout time.Duration) bool {
	if !env.consumers {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var head int64
	if err := env.pool.QueryRow(ctx, `SELECT coalesce(max(global_position), 0) FROM events`).Scan(&head); err != nil {
		return false
	}
	for {
		var behind int
		err := env.pool.QueryRow(ctx, `SELECT count(*) FROM consumer_checkpoints WHERE position < $1 AND NOT stopped`, head).Scan(&behind)
		if err != nil {
			return false
		}
		if behind == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// setConsumers restarts the service with its asynchronous consumers on or off, unless
// it already runs that way; turned on, they first catch up with the log (unmeasured).
func (env *environment) setConsumers(ctx context.Context, on bool) error {
	if env.consumers == on {
		return nil
	}
	env.consumers = on
	if err := env.restartService(ctx); err != nil {
		return err
	}
	if !on {
		return nil
	}
	// The consumers start where they stopped: everything written since is their
	// backlog (hundreds of thousands of events after the other scenarios).
	begin := time.Now()
	if !env.settle(ctx, 10*time.Minute) {
		return fmt.Errorf("the service's consumers did not catch up with the log within 10 minutes")
	}
	logf("consumers caught up with the log in %v", time.Since(begin).Round(100*time.Millisecond))
	return nil
}

// restartService stops the service and starts it again on the same database: its
// in-memory caches are empty afterwards.
func (env *environment) restartService(ctx context.Context) error {
	log := env.service.out.String()
	if err := env.service.stop(); err != nil {
		return fmt.Errorf("stopping the service: %w", err)
	}
	s, err := startService(ctx, env.serviceBin, env.db.URL, env.cfg.maxConns, env.pprofAddr, env.cfg.serverLogTee, env.consumers)
	if err != nil {
		return err
	}
	_, _ = s.out.Write([]byte(log))
	env.service = s
	env.http = newHTTPClient(s.URL, env.cfg.maxConcurrency())
	return nil
}

// remember keeps order ids for the read scenario.
func (env *environment) remember(ids ...string) { env.placed = append(env.placed, ids...) }

// gitDescribe names the commit the service was built from, "-dirty" when tracked files
// had uncommitted changes.
func gitDescribe(root string) string {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "unknown (no git)"
	}
	return strings.TrimSpace(string(out))
}
