package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Owned is an empty database owned by a login role without CREATEROLE: what a managed
// PostgreSQL (CloudNativePG, a cloud database) gives a team.
type Owned struct {
	Database string
	OwnerURL string
	// Admin is a superuser connection to the same server, for setting up what a
	// platform team would have made beforehand (roles).
	Admin *pgx.Conn
	url   *url.URL
	drop  *[]string
}

// DropRoleAtEnd drops role when the test ends, after the database: a role the test
// makes, or one that what it tests makes.
func (o Owned) DropRoleAtEnd(role string) { *o.drop = append(*o.drop, role) }

// URLAs is the database's URL for another login role.
func (o Owned) URLAs(role, password string) string {
	u := *o.url
	u.User = url.UserPassword(role, password)
	return u.String()
}

// NewOwned makes an Owned database. When the test ends the database, its owner, the
// default app role (<database>_app) and the roles given to DropRoleAtEnd are dropped.
func NewOwned(t testing.TB, prefix string) Owned {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adminURL := NewDatabase(t) // the server's superuser, on a throwaway database
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	var b [5]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	owner, database := prefix+"_owner_"+suffix, prefix+"_"+suffix
	for _, stmt := range []string{
		"CREATE ROLE " + owner + " LOGIN NOCREATEROLE NOSUPERUSER NOCREATEDB PASSWORD 'owner'",
		"CREATE DATABASE " + database + " OWNER " + owner,
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	drop := &[]string{}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stmts := []string{"DROP DATABASE IF EXISTS " + database + " WITH (FORCE)"}
		for _, r := range append(*drop, database+"_app", owner) {
			stmts = append(stmts, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize())
		}
		for _, stmt := range stmts {
			if _, err := admin.Exec(ctx, stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
		_ = admin.Close(ctx)
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + database
	o := Owned{Database: database, Admin: admin, url: u, drop: drop}
	o.OwnerURL = o.URLAs(owner, "owner")
	return o
}
