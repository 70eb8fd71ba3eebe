package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/test/pgtest"
)

// ownerWithoutCreateRole is pgtest.NewOwned for these tests: the database's name, the
// owner's URL and an admin connection; the role the APP_DB_ROLE cases name,
// precreated_<suffix>, is dropped with the rest.
func ownerWithoutCreateRole(t *testing.T) (database, ownerURL string, admin *pgx.Conn) {
	t.Helper()
	o := pgtest.NewOwned(t, "nocreaterole")
	o.DropRoleAtEnd(precreated(o.Database))
	return o.Database, o.OwnerURL, o.Admin
}

// precreated is the APP_DB_ROLE the cases below name for database.
func precreated(database string) string {
	return "precreated_" + strings.TrimPrefix(database, "nocreaterole_")
}

func roleExists(t *testing.T, admin *pgx.Conn, role string) bool {
	t.Helper()
	var exists bool
	if err := admin.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}

func canInsertEvents(t *testing.T, admin *pgx.Conn, database, role string) bool {
	t.Helper()
	// has_table_privilege needs the database's own catalog: ask through a connection to it.
	cfg := admin.Config().Copy()
	cfg.Database = database
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var ok bool
	if err := conn.QueryRow(context.Background(), `SELECT has_table_privilege($1, 'public.events', 'INSERT')`, role).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestMigrateUpAsAnOwnerThatCannotCreateRoles: `migrate up` as the owner of the
// database, who lacks CREATEROLE (issue 19: the migration Job exited 1 on every run,
// after applying the migrations, trying to create "<database>_app").
func TestMigrateUpAsAnOwnerThatCannotCreateRoles(t *testing.T) {
	t.Parallel()

	t.Run("default role missing: migrations applied, role creation skipped, exit 0", func(t *testing.T) {
		t.Parallel()
		database, ownerURL, admin := ownerWithoutCreateRole(t)
		for run := 1; run <= 2; run++ { // the Job runs on every apply
			stdout, stderr, code := orders(t, map[string]string{"DATABASE_URL": ownerURL}, "migrate", "up")
			if code != 0 {
				t.Fatalf("run %d: exit %d\nstdout: %s\nstderr: %s", run, code, stdout, stderr)
			}
			if !strings.Contains(stdout, "database at version") {
				t.Errorf("run %d: stdout %q, want the version line", run, stdout)
			}
			if !strings.Contains(stderr, "app role not created") || !strings.Contains(stderr, database+"_app") || !strings.Contains(stderr, "CREATEROLE") {
				t.Errorf("run %d: stderr %q, want a log line saying why %s_app was not created", run, stderr, database)
			}
		}
		if roleExists(t, admin, database+"_app") {
			t.Errorf("role %s_app exists; the owner could not have created it", database)
		}
	})

	t.Run("default role created beforehand: granted, creation skipped", func(t *testing.T) {
		t.Parallel()
		database, ownerURL, admin := ownerWithoutCreateRole(t)
		if _, err := admin.Exec(context.Background(), "CREATE ROLE "+database+"_app NOLOGIN"); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := orders(t, map[string]string{"DATABASE_URL": ownerURL}, "migrate", "up")
		if code != 0 {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		if !strings.Contains(stderr, "app role exists") {
			t.Errorf("stderr %q, want a log line saying the role exists and was not created", stderr)
		}
		if !canInsertEvents(t, admin, database, database+"_app") {
			t.Errorf("%s_app may not insert into events: the grants were not made", database)
		}
	})

	t.Run("APP_DB_ROLE given and created beforehand: granted", func(t *testing.T) {
		t.Parallel()
		database, ownerURL, admin := ownerWithoutCreateRole(t)
		role := precreated(database)
		if _, err := admin.Exec(context.Background(), "CREATE ROLE "+role+" NOLOGIN"); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := orders(t, map[string]string{"DATABASE_URL": ownerURL, "APP_DB_ROLE": role}, "migrate", "up")
		if code != 0 {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		if !canInsertEvents(t, admin, database, role) {
			t.Errorf("%s may not insert into events: the grants were not made", role)
		}
	})

	t.Run("APP_DB_ROLE given but missing: exit 1 naming it", func(t *testing.T) {
		t.Parallel()
		database, ownerURL, _ := ownerWithoutCreateRole(t)
		role := precreated(database)
		_, stderr, code := orders(t, map[string]string{"DATABASE_URL": ownerURL, "APP_DB_ROLE": role}, "migrate", "up")
		if code != 1 || !strings.Contains(stderr, role) || !strings.Contains(stderr, "CREATE ROLE") {
			t.Errorf("exit %d, stderr %q; want 1 and an error naming %s and how to create it", code, stderr, role)
		}
	})
}
