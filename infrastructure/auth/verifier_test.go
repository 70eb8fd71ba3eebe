package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

func hsToken(t *testing.T, c jwt.MapClaims, key []byte) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func valid(extra map[string]any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "iss": "https://issuer", "aud": "orders"}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestVerifyHS256(t *testing.T) {
	v, err := NewVerifier(Config{HS256Secret: secret, Issuer: "https://issuer", Audience: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), hsToken(t, valid(map[string]any{"scope": "orders:staff events:read"}), secret))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "alice" || !p.IsStaff() || !p.Has("events:read") {
		t.Fatalf("principal %+v", p)
	}

	past, future := time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Hour).Unix()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, valid(nil)).SignedString(rsaKey)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, valid(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, valid(nil)).SignedString(secret)
	for name, tok := range map[string]string{
		"expired":        hsToken(t, valid(map[string]any{"exp": past}), secret),
		"no exp":         hsToken(t, valid(map[string]any{"exp": nil}), secret),
		"nbf in future":  hsToken(t, valid(map[string]any{"nbf": future}), secret),
		"iat in future":  hsToken(t, valid(map[string]any{"iat": future}), secret),
		"wrong issuer":   hsToken(t, valid(map[string]any{"iss": "https://evil"}), secret),
		"no issuer":      hsToken(t, valid(map[string]any{"iss": nil}), secret),
		"wrong audience": hsToken(t, valid(map[string]any{"aud": "billing"}), secret),
		"no sub":         hsToken(t, valid(map[string]any{"sub": nil}), secret),
		"blank sub":      hsToken(t, valid(map[string]any{"sub": "  "}), secret),
		"long sub":       hsToken(t, valid(map[string]any{"sub": strings.Repeat("x", 65)}), secret),
		"control in sub": hsToken(t, valid(map[string]any{"sub": "a\nb"}), secret),
		"wrong key":      hsToken(t, valid(nil), []byte("another-secret-of-32-bytes-......")),
		"alg none":       none,
		"RS256 token":    rs,
		"HS512":          hs512,
		"malformed":      "not.a.jwt",
		"empty":          "",
		"garbage":        "eyJhbGciOiJIUzI1NiJ9.%%%.xyz",
	} {
		if p, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: accepted (%+v) or wrong error %v", name, p, err)
		}
	}
	// Leeway: expired 10 seconds ago is still fine (30s leeway).
	if _, err := v.Verify(context.Background(), hsToken(t, valid(map[string]any{"exp": time.Now().Add(-10 * time.Second).Unix()}), secret)); err != nil {
		t.Errorf("within leeway: %v", err)
	}
}

func TestConfig(t *testing.T) {
	if _, err := NewVerifier(Config{}); err == nil {
		t.Error("no key source accepted")
	}
	if _, err := NewVerifier(Config{HS256Secret: []byte("short")}); err == nil {
		t.Error("short secret accepted")
	}
	if _, err := NewVerifier(Config{HS256Secret: secret, JWKSURL: "https://x/jwks"}); err == nil {
		t.Error("two key sources accepted")
	}
	if _, err := NewVerifier(Config{JWKSURL: "file:///etc/passwd"}); err == nil {
		t.Error("non-http JWKS URL accepted")
	}
	if _, err := Sign([]byte("short"), "alice", "", "", "", time.Hour, time.Now()); err == nil {
		t.Error("Sign with a short secret")
	}
}

// TestPublicKeyPEM: an RS256 token verifies against the PEM key; an HS256 token made
// with the PEM bytes as secret (the alg-confusion attack) does not.
func TestPublicKeyPEM(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	file := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(file, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Config{PublicKeyFile: file})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, valid(nil)).SignedString(key)
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("RS256: %v", err)
	}
	confused := hsToken(t, valid(nil), pemBytes)
	if _, err := v.Verify(context.Background(), confused); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("HS256 signed with the public key accepted: %v", err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, valid(nil)).SignedString(other)
	if _, err := v.Verify(context.Background(), forged); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of another key accepted: %v", err)
	}
}

// TestJWKS: keys are fetched on first use and by kid; an unknown kid refetches, but
// at most once per interval; an ES256 key cannot verify an RS256 token.
func TestJWKS(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := base64.RawURLEncoding
	ecPub, _ := ecKey.PublicKey.Bytes() // uncompressed point: 0x04 || X || Y
	keys := []map[string]string{
		{"kty": "RSA", "kid": "r1", "n": b64.EncodeToString(rsaKey.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64.EncodeToString(ecPub[1:33]), "y": b64.EncodeToString(ecPub[33:])},
	}
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	defer srv.Close()
	v, err := NewVerifier(Config{JWKSURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, kid string, key any) string {
		tok := jwt.NewWithClaims(m, valid(nil))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for name, tok := range map[string]string{"RS256": sign(jwt.SigningMethodRS256, "r1", rsaKey), "ES256": sign(jwt.SigningMethodES256, "e1", ecKey)} {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for two known kids, want 1", n)
	}
	for name, tok := range map[string]string{
		"RS token naming the EC key": sign(jwt.SigningMethodRS256, "e1", rsaKey),
		"HS256 naming the RSA key":   sign(jwt.SigningMethodHS256, "r1", []byte("whatever-secret-whatever-secret-!")),
		"unknown kid":                sign(jwt.SigningMethodRS256, "r2", rsaKey),
		"another unknown kid":        sign(jwt.SigningMethodRS256, "r3", rsaKey),
		"no kid":                     sign(jwt.SigningMethodRS256, "", rsaKey),
	} {
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: accepted or wrong error %v", name, err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("unknown kids within the interval fetched %d times in all, want 1", n)
	}
}
