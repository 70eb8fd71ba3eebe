package testsupport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
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

// ensured holds the servers (host:port) on which AppRole is known to exist, so that
// a service restarted while its database is down needs no connection to get its URL.
var ensured sync.Map

// AppRoleURL makes sure the login role AppRole exists on the server of ownerURL and
// returns ownerURL with AppRole's credentials. `migrate up` grants it its privileges
// (APP_DB_ROLE=AppRole), database by database.
func AppRoleURL(ctx context.Context, ownerURL string) (string, error) {
	u, err := url.Parse(ownerURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("app role: %q is not a postgres:// URL", ownerURL)
	}
	owner := *u
	u.User = url.UserPassword(AppRole, appRolePassword)
	if _, ok := ensured.Load(u.Host); ok {
		return u.String(), nil
	}
	if err := EnsureLoginRole(ctx, owner.String(), AppRole, appRolePassword); err != nil {
		return "", err
	}
	ensured.Store(u.Host, true)
	return u.String(), nil
}

// EnsureLoginRole creates role with LOGIN and password on the server of ownerURL
// unless it exists (for throwaway test and development servers only).
func EnsureLoginRole(ctx context.Context, ownerURL, role, password string) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("app role: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return fmt.Errorf("app role: %w", err)
	}
	if !exists {
		var create string // PostgreSQL quotes the literal itself
		if err := conn.QueryRow(ctx, `SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)`, role, password).Scan(&create); err != nil {
			return fmt.Errorf("app role: %w", err)
		}
		_, err := conn.Exec(ctx, create)
		var pgErr *pgconn.PgError
		if err != nil && (!errors.As(err, &pgErr) || pgErr.Code != "42710" && pgErr.Code != "23505") { // created meanwhile
			return fmt.Errorf("app role: %w", err)
		}
	}
	return nil
}

// Bearer is a RoundTripper that sends a staff token (StaffToken) with every request
// that has no Authorization header, so that harness traffic that is not about
// authorization runs with authentication on and is allowed everything.
type Bearer struct{ Base http.RoundTripper }

var staffToken = sync.OnceValue(StaffToken)

func (b Bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+staffToken())
	}
	return b.Base.RoundTrip(req)
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
		"PII_KEK":              PIIKEK,
	}, nil
}

// PIIKEK is the key encryption key of the services the harnesses start: a test key,
// public on purpose (base64 of 32 bytes).
const PIIKEK = "dGVzdCBrZWs6IG5vdCBzZWNyZXQsIDMyIGJ5dGVzISE=" //nolint:gosec // G101: a published test key
