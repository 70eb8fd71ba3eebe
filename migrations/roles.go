package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// NoAppRole as the role name skips GrantAppRole (a single-role setup: the service
// connects as the owner of the schema).
const NoAppRole = "none"

// DefaultAppRole is the application role's name when none is configured:
// "<database>_app".
func DefaultAppRole(database string) string { return database + "_app" }

// GrantAppRole gives the application role exactly what the service needs, and no
// more; an empty role means DefaultAppRole. `migrate up` runs it after the migrations, as the owner of the schema (the
// role that ran them), every time: it is idempotent, and re-granting on every table
// covers tables that later migrations added. It:
//
//   - creates the role NOLOGIN if it does not exist (a cluster-wide object: creating
//     it needs CREATEROLE; an operator may create it beforehand instead). The
//     service logs in as a login role that is, or is a member of, this role;
//   - grants CONNECT on the database and USAGE (not CREATE) on the schema, and
//     revokes CREATE on the schema from PUBLIC (PostgreSQL 15 does by default), so
//     the service can run no DDL;
//   - grants SELECT, INSERT, UPDATE, DELETE on every table of the schema and USAGE,
//     SELECT on its sequences, and sets the owner's default privileges so that tables
//     created by future migrations get the same without anyone remembering to;
//   - takes back UPDATE, DELETE and TRUNCATE on events (append-only: the service
//     inserts and reads) and every write on goose's version table.
func GrantAppRole(ctx context.Context, db *sql.DB, role string) error {
	if role == NoAppRole {
		return nil
	}
	var database, schema string
	if err := db.QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&database, &schema); err != nil {
		return fmt.Errorf("app role: %w", err)
	}
	if role == "" {
		role = DefaultAppRole(database)
	}
	if err := createRole(ctx, db, role); err != nil {
		return err
	}
	r, d, s := ident(role), ident(database), ident(schema)
	statements := []string{
		// Replicas migrating together would otherwise update the same ACLs at once
		// ("tuple concurrently updated"); advisory locks are per database.
		"SELECT pg_advisory_xact_lock(hashtext('app role grants'))",
		"GRANT CONNECT ON DATABASE " + d + " TO " + r,
		"REVOKE CREATE ON SCHEMA " + s + " FROM PUBLIC",
		"REVOKE CREATE ON SCHEMA " + s + " FROM " + r,
		"GRANT USAGE ON SCHEMA " + s + " TO " + r,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + s + " TO " + r,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + s + " TO " + r,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + s + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + r,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + s + " GRANT USAGE, SELECT ON SEQUENCES TO " + r,
		// The exceptions to the default: the event log is append-only, and the
		// migration history is the owner's.
		"REVOKE UPDATE, DELETE, TRUNCATE ON TABLE " + s + ".events FROM " + r,
		"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON TABLE " + s + ".goose_db_version FROM " + r,
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("app role %s: %w", role, err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, stmt := range statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("app role %s: %s: %w", role, stmt, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("app role %s: %w", role, err)
	}
	return nil
}

// createRole creates role NOLOGIN unless it exists. Roles belong to the cluster, so
// migrations of other databases may be creating it at the same moment: losing that
// race is success.
func createRole(ctx context.Context, db *sql.DB, role string) error {
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return fmt.Errorf("app role %s: %w", role, err)
	}
	if exists {
		return nil
	}
	_, err := db.ExecContext(ctx, "CREATE ROLE "+ident(role)+" NOLOGIN")
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505"): // duplicate_object, unique_violation
		return nil
	case errors.As(err, &pgErr) && pgErr.Code == "42501": // insufficient_privilege
		return fmt.Errorf("app role %s does not exist and this user may not create it: create it as a user with CREATEROLE "+
			"(CREATE ROLE %s NOLOGIN), set APP_DB_ROLE to an existing role, or APP_DB_ROLE=%s for a single-role setup: %w",
			role, ident(role), NoAppRole, err)
	}
	return fmt.Errorf("app role %s: create: %w", role, err)
}

// ident quotes a PostgreSQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
