package pgtest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/example/orders/infrastructure/servicename"
	"github.com/example/orders/migrations"
)

// templateLockKey serialises template creation between test processes sharing a
// server (go test runs packages in parallel; TEST_DATABASE_URL may be shared). Advisory
// locks are per database, so every process takes it in the URL's database.
const templateLockKey = 0x6f7264657273 // "orders"

// completeMark is the comment that says a template was fully migrated; a template
// without it is the remains of an interrupted run and is rebuilt.
const completeMark = "complete"

// ensureTemplate returns the name of the template database for the current migrations,
// creating and migrating it first if no process did so yet.
func ensureTemplate(ctx context.Context, admin *pgxpool.Pool, serverURL string) (string, error) {
	name, err := templateName(serverURL)
	if err != nil {
		return "", err
	}
	conn, err := admin.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(templateLockKey)); err != nil {
		return "", fmt.Errorf("lock for the template: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(templateLockKey)) //nolint:errcheck // the session ends soon anyway

	var comment *string
	err = conn.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name).Scan(&comment)
	switch {
	case err == nil && comment != nil && *comment == completeMark:
		return name, nil
	case err == nil: // left over by an interrupted run
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE false"); err != nil {
			return "", err
		}
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop incomplete template %s: %w", name, err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return "", fmt.Errorf("look for template %s: %w", name, err)
	}

	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil {
		return "", fmt.Errorf("create template %s: %w", name, err)
	}
	if err := migrate(ctx, serverURL, name); err != nil {
		return "", err
	}
	// No connections from now on: CREATE DATABASE ... TEMPLATE fails while there is one.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return "", fmt.Errorf("mark template %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+ident(name)+" IS '"+completeMark+"'"); err != nil {
		return "", fmt.Errorf("mark template %s complete: %w", name, err)
	}
	return name, nil
}

// migrate applies the migrations to database name, with the same code the service
// runs at start-up, and closes every connection it opened.
func migrate(ctx context.Context, serverURL, name string) error {
	u, err := withDatabase(serverURL, name)
	if err != nil {
		return err
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer func() { _ = db.Close() }()
	if err := migrations.Up(ctx, db); err != nil {
		return fmt.Errorf("migrate template %s: %w", name, err)
	}
	return db.Close()
}

// templateName is <servicename.Name>_tpl_<first 12 hex digits of a hash of the migrations>, so
// that a changed migration gets a new template instead of a stale one on a server that
// outlives the run (TEST_DATABASE_URL). The hash covers each migration's version and
// file name, as goose lists them, and the file's content when the source tree is at
// hand (always under go test, which runs in the package directory).
func templateName(serverURL string) (string, error) {
	cfg, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return "", err
	}
	db := stdlib.OpenDB(*cfg) // not connected: goose only lists its sources
	defer func() { _ = db.Close() }()
	p, err := migrations.NewProvider(db)
	if err != nil {
		return "", err
	}
	dir := migrationsDir()
	h := sha256.New()
	for _, s := range p.ListSources() {
		_, _ = fmt.Fprintf(h, "%d %s %s\n", s.Version, s.Type, filepath.Base(s.Path))
		if dir != "" {
			if b, err := os.ReadFile(filepath.Join(dir, filepath.Base(s.Path))); err == nil {
				h.Write(b)
			}
		}
	}
	return servicename.Name + "_tpl_" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// migrationsDir finds the migrations' source directory: next to this file's source
// (unless built with -trimpath), else under the module root above the working
// directory. Empty if neither works.
func migrationsDir() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "..", "..", "migrations")
		if isDir(dir) {
			return dir
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isOurModule(filepath.Join(d, "go.mod")) && isDir(filepath.Join(d, "migrations")) {
			return filepath.Join(d, "migrations")
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isOurModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == "github.com/example/orders"
		}
	}
	return false
}

// withDatabase returns the connection string with its database replaced. Both URL
// (postgres://...) and keyword/value (host=... dbname=...) forms are accepted.
func withDatabase(conn, name string) (string, error) {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err != nil {
			return "", fmt.Errorf("parse database URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword/value strings a later keyword wins.
	return conn + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name) + "'", nil
}
