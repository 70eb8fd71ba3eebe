package auth

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestTimeClaimsMustBeNumbers: exp, nbf and iat are NumericDates, JSON numbers (RFC
// 7519 §2); a string holding a number, which jwt's NumericDate would take, is refused.
func TestTimeClaimsMustBeNumbers(t *testing.T) {
	v, err := NewVerifier(Config{HS256Secret: secret, Issuer: "https://issuer", Audience: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	str := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	for name, extra := range map[string]map[string]any{
		"exp as a string":  {"exp": str(now.Add(time.Hour))},
		"nbf as a string":  {"nbf": str(now.Add(-time.Minute))},
		"iat as a string":  {"iat": str(now)},
		"exp as an object": {"exp": map[string]any{"n": now.Add(time.Hour).Unix()}},
		"exp as true":      {"exp": true},
		"nbf as an array":  {"nbf": []any{now.Unix()}},
	} {
		if p, err := v.Verify(context.Background(), hsToken(t, valid(extra), secret)); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: accepted (%+v) or wrong error %v", name, p, err)
		}
	}
	fraction := hsToken(t, valid(map[string]any{"exp": float64(now.Add(time.Hour).Unix()) + 0.5, "nbf": now.Unix() - 1}), secret)
	if _, err := v.Verify(context.Background(), fraction); err != nil {
		t.Errorf("numbers, one with a fraction (allowed by RFC 7519): %v", err)
	}
}

// TestCriticalHeaderRefused: a JWS whose crit header names extensions must be refused
// by a verifier that does not implement them (RFC 7515 §4.1.11), and this one
// implements none; a valid token without crit still passes.
func TestCriticalHeaderRefused(t *testing.T) {
	v, err := NewVerifier(Config{HS256Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	for name, crit := range map[string]any{
		"unknown extension": []any{"exp-extension"},
		"b64 (RFC 7797)":    []any{"b64"},
		"empty list":        []any{},
		"not a list":        "x",
	} {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, valid(nil))
		tok.Header["crit"] = crit
		if name == "b64 (RFC 7797)" {
			tok.Header["b64"] = true
		}
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := v.Verify(context.Background(), s); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("crit %s: accepted (%+v) or wrong error %v", name, p, err)
		}
	}
	if _, err := v.Verify(context.Background(), hsToken(t, valid(nil), secret)); err != nil {
		t.Errorf("token without crit: %v", err)
	}
}
