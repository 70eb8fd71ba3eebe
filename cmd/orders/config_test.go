package main

import (
	"strings"
	"testing"
)

// TestAuthConfiguration: serve refuses to start without authentication unless
// AUTH_MODE=none says so; migrate does not care; bad combinations are named.
func TestAuthConfiguration(t *testing.T) {
	const db = "postgres://u:p@localhost/orders"
	secret := strings.Repeat("s", 32)
	for _, c := range []struct {
		cmd  string
		env  map[string]string
		want string // "" means valid
	}{
		{"serve", nil, "no authentication configured"},
		{"migrate", nil, ""},
		{"serve", map[string]string{"AUTH_MODE": "none"}, ""},
		{"serve", map[string]string{"AUTH_HS256_SECRET": secret}, ""},
		{"serve", map[string]string{"AUTH_HS256_SECRET": "short"}, "at least 32 bytes"},
		{"serve", map[string]string{"AUTH_MODE": "none", "AUTH_HS256_SECRET": secret}, "AUTH_MODE=none"},
		{"serve", map[string]string{"AUTH_HS256_SECRET": secret, "AUTH_JWKS_URL": "https://id/jwks"}, "only one"},
		{"serve", map[string]string{"AUTH_MODE": "maybe"}, "AUTH_MODE must be"},
		{"serve", map[string]string{"AUTH_MODE": "none", "CORS_ALLOWED_ORIGINS": "*"}, "CORS_ALLOWED_ORIGINS"},
		{"serve", map[string]string{"AUTH_MODE": "none", "CORS_ALLOWED_ORIGINS": "https://a.example, http://localhost:3000"}, ""},
	} {
		env := map[string]string{"DATABASE_URL": db}
		for k, v := range c.env {
			env[k] = v
		}
		_, err := parseConfig(c.cmd, nil, func(k string) string { return env[k] })
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %v: %v", c.cmd, c.env, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %v: %v, want an error about %q", c.cmd, c.env, err, c.want)
		}
	}
}
