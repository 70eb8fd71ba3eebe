package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
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
//     it needs CREATEROLE; an operator may create it beforehand instead, and then
//     this only logs that it exists). The service logs in as a login role that is,
//     or is a member of, this role. When the default role is missing and the owner
//     may not create roles (a managed PostgreSQL such as CloudNativePG gives the
//     application an owner without CREATEROLE), it logs why and grants nothing: the
//     migrations stand and the service connects as the owner (a single-role setup).
//     A role named by APP_DB_ROLE that is missing and cannot be created is an error;
//   - grants CONNECT on the database and USAGE (not CREATE) on the schema, and
//     revokes CREATE on the schema from PUBLIC (PostgreSQL 15 does by default), so
//     the service can run no DDL;
//   - grants SELECT, INSERT, UPDATE, DELETE on every table of the schema and USAGE,
//     SELECT on its sequences, and sets the owner's default privileges so that tables
//     created by future migrations get the same without anyone remembering to;
//   - takes back UPDATE, DELETE and TRUNCATE on events (append-only: the service
//     inserts and reads) and every write on goose's version table.
func GrantAppRole(ctx context.Context, db *sql.DB, role string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if role == NoAppRole {
		log.InfoContext(ctx, "app role: APP_DB_ROLE=none, no grants (the service connects as the schema's owner)")
		return nil
	}
	var database, schema string
	if err := db.QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&database, &schema); err != nil {
		return fmt.Errorf("app role: %w", err)
	}
	configured := role != ""
	if !configured {
		role = DefaultAppRole(database)
	}
	granted, err := ensureRole(ctx, db, role, configured, log)
	if err != nil || !granted {
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

// ensureRole makes sure role exists, creating it NOLOGIN when it is missing and the
// current user may create roles; it logs which. Roles belong to the cluster, so
// migrations of other databases may be creating it at the same moment: losing that
// race is success. It answers false, nil when the grants are to be skipped: the
// default role (not configured) is missing and cannot be created.
func ensureRole(ctx context.Context, db *sql.DB, role string, configured bool, log *slog.Logger) (bool, error) {
	var exists, mayCreate bool
	var user string
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1),
		(SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user), current_user`, role).Scan(&exists, &mayCreate, &user); err != nil {
		return false, fmt.Errorf("app role %s: %w", role, err)
	}
	if exists {
		log.InfoContext(ctx, "app role exists; not creating it, granting its privileges", "role", role)
		return true, nil
	}
	cannot := func(err error) (bool, error) {
		if configured {
			msg := fmt.Errorf("app role %s (APP_DB_ROLE) does not exist and %s may not create it (no CREATEROLE): create it beforehand "+
				"(CREATE ROLE %s NOLOGIN), or set APP_DB_ROLE=%s for a single-role setup", role, user, ident(role), NoAppRole)
			if err != nil {
				return false, fmt.Errorf("%w: %w", msg, err)
			}
			return false, msg
		}
		log.WarnContext(ctx, "app role not created: "+user+" may not create roles (no CREATEROLE), so "+role+" is not created and no privileges are granted; "+
			"the service must connect as the schema's owner, or create the role beforehand (CREATE ROLE "+ident(role)+" NOLOGIN) or set APP_DB_ROLE to an existing one",
			"role", role, "user", user)
		return false, nil
	}
	if !mayCreate {
		return cannot(nil)
	}
	_, err := db.ExecContext(ctx, "CREATE ROLE "+ident(role)+" NOLOGIN")
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		log.InfoContext(ctx, "app role created", "role", role)
		return true, nil
	case errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505"): // duplicate_object, unique_violation
		return true, nil
	case errors.As(err, &pgErr) && pgErr.Code == "42501": // insufficient_privilege
		return cannot(err)
	}
	return false, fmt.Errorf("app role %s: create: %w", role, err)
}

// ident quotes a PostgreSQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
