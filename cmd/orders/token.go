package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/example/orders/infrastructure/auth"
)

// runToken prints an HS256 token signed with AUTH_HS256_SECRET, for development and
// tests: `orders token --sub alice [--scope "orders:staff events:read"] [--ttl 1h]`.
// AUTH_ISSUER and AUTH_AUDIENCE, when set, go into the token so that the service
// accepts it. Production tokens come from an identity provider, not from here.
func runToken(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "the subject: the customer id the token speaks for (required)")
	scope := fs.String("scope", "", `space-separated scopes, e.g. "orders:staff events:read"`)
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected arguments %q", fs.Args())
	}
	secret := getenv("AUTH_HS256_SECRET")
	switch {
	case secret == "":
		return errors.New("token: AUTH_HS256_SECRET is not set; this command only makes HS256 development tokens")
	case *sub == "":
		return errors.New("token: --sub is required")
	case *ttl <= 0 || *ttl > 30*24*time.Hour:
		return errors.New("token: --ttl must be positive and at most 720h")
	}
	tok, err := auth.Sign([]byte(secret), *sub, *scope, getenv("AUTH_ISSUER"), getenv("AUTH_AUDIENCE"), *ttl, time.Now())
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
