package testsupport

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/example/orders/infrastructure/auth"
)

// The test harnesses (e2e, reliability, bench) and `make run` start the service with
// authentication on and the two-role database setup: migrations run as the server's
// (super)user, the service logs in as AppRole.
const (
	// AuthSecret is the HS256 secret the harnesses give the service.
	AuthSecret = "test-secret-of-the-order-service-harnesses"
	// AppRole is the login role the service connects as in tests; the clusters are
	// throwaway, so one role with a known password serves every test database.
	AppRole         = "orders_app_test"
	appRolePassword = "orders_app_test"
	// StaffScope is what a harness's default token holds: everything.
	StaffScope = "orders:staff events:read"
)

// Token returns an HS256 token for sub with scope (space-separated), valid for a day.
func Token(sub, scope string) string {
	tok, err := auth.Sign([]byte(AuthSecret), sub, scope, "", "", 24*time.Hour, time.Now())
	if err != nil {
		panic(err)
	}
	return tok
}

// StaffToken is a token that may do everything; the harnesses send it when a test
// does not choose a token itself.
func StaffToken() string { return Token("harness-staff", StaffScope) }

// AppRoleURL makes sure the login role AppRole exists on the server of ownerURL and
// returns ownerURL with AppRole's credentials. `migrate up` grants it its privileges
// (APP_DB_ROLE=AppRole), database by database.
func AppRoleURL(ctx context.Context, ownerURL string) (string, error) {
	u, err := url.Parse(ownerURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("app role: %q is not a postgres:// URL", ownerURL)
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return "", fmt.Errorf("app role: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, AppRole).Scan(&exists); err != nil {
		return "", fmt.Errorf("app role: %w", err)
	}
	if !exists {
		_, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{AppRole}.Sanitize()+" LOGIN PASSWORD '"+appRolePassword+"'")
		var pgErr *pgconn.PgError
		if err != nil && !(errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505")) { // created meanwhile
			return "", fmt.Errorf("app role: %w", err)
		}
	}
	u.User = url.UserPassword(AppRole, appRolePassword)
	return u.String(), nil
}

// ServiceEnv is what a harness adds to the service's environment: the two database
// URLs, the role and the secret.
func ServiceEnv(ctx context.Context, ownerURL string) (map[string]string, error) {
	appURL, err := AppRoleURL(ctx, ownerURL)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"DATABASE_URL":         appURL,
		"MIGRATE_DATABASE_URL": ownerURL,
		"APP_DB_ROLE":          AppRole,
		"AUTH_HS256_SECRET":    AuthSecret,
	}, nil
}
