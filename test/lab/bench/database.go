package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/example/orders/test/postgres"
)

// benchDatabase is the database the benchmark creates on a server it starts.
const benchDatabase = "orders_bench"

// pgInfo is which PostgreSQL the numbers come from and how it commits.
type pgInfo struct {
	How      string      `json:"how"`
	Version  string      `json:"version"`
	Settings [][2]string `json:"settings"`
	Durable  bool        `json:"durable"`
}

// startDatabase provisions a durable server the way `make run` does (a container from
// $POSTGRES_IMAGE, else the local binaries) but throwaway: an anonymous container or a
// temporary data directory on disk, removed by Stop. BENCH_DATABASE_URL, when set, is
// used as it is and left alone.
func startDatabase(ctx context.Context) (*postgres.Server, error) {
	// The reaper's image cannot be pulled where PostgreSQL's cannot; we stop what we
	// start ourselves, on every exit path.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	tclog.SetDefault(tclog.NewNoopLogger())
	return postgres.Start(ctx, postgres.Options{
		URLEnv:   "BENCH_DATABASE_URL",
		Database: benchDatabase,
		// Not Ephemeral: that turns fsync off and puts the data in memory. An anonymous
		// container is removed with its data by Stop; a local cluster is removed because
		// of RemoveOnStop.
		Local: postgres.LocalOptions{RemoveOnStop: true},
		// The service, the CRUD server and the harness's own pool each hold up to
		// concurrency + a few connections, and the service's consumers some more.
		MaxConnections: 400,
		Log:            os.Stderr,
	})
}

// shownSettings are printed and recorded: they decide what a commit costs.
var shownSettings = []string{"fsync", "synchronous_commit", "full_page_writes", "wal_sync_method",
	"shared_buffers", "max_connections"}

func readPGInfo(ctx context.Context, pool *pgxpool.Pool, how string) (pgInfo, error) {
	info := pgInfo{How: how}
	if err := pool.QueryRow(ctx, "SELECT version()").Scan(&info.Version); err != nil {
		return info, err
	}
	values := map[string]string{}
	for _, name := range shownSettings {
		var v string
		if err := pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			return info, fmt.Errorf("SHOW %s: %w", name, err)
		}
		values[name] = v
		info.Settings = append(info.Settings, [2]string{name, v})
	}
	info.Durable = values["fsync"] == "on" && values["synchronous_commit"] == "on"
	return info, nil
}

// findPostmaster returns the pid of the server's postmaster when it runs on this
// machine in our pid namespace (the local provider), else 0. It asks a backend for its
// pid and checks that this pid's process title names our connection's port, so that a
// pid from inside a container is never mistaken for an unrelated local process.
func findPostmaster(ctx context.Context, pool *pgxpool.Pool) int {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0
	}
	defer conn.Release()
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return 0
	}
	addr, ok := conn.Conn().PgConn().Conn().LocalAddr().(*net.TCPAddr)
	if !ok {
		return 0
	}
	title, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", backend))
	if err != nil || !strings.Contains(string(title), "("+strconv.Itoa(addr.Port)+")") {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", backend))
	if err != nil {
		return 0
	}
	_, fields, ok := statFields(string(stat))
	if !ok || len(fields) < 2 {
		return 0
	}
	parent, _ := strconv.Atoi(fields[1])
	return parent
}

// postgresCPU is the CPU seconds of the postmaster and all its processes, living and
// exited.
func postgresCPU(postmaster int) (float64, bool) {
	sum, ok := processCPU(postmaster, true)
	if !ok {
		return 0, false
	}
	for _, child := range childrenOf(postmaster) {
		if c, ok := processCPU(child, false); ok {
			sum += c
		}
	}
	return sum, true
}
