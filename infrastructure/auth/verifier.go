// Package auth authenticates bearer tokens: JWTs signed with an HS256 secret
// (development, tests, simple setups), an RSA or EC public key from a PEM file, or
// keys fetched from a JWKS URL. It turns a valid token into an
// appkit.Principal; what the principal may do is the application's business.
package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/example/orders/application/appkit"
)

// MinHS256SecretLength is the shortest HS256 secret accepted, in bytes (RFC 7518
// §3.2: a key of at least the hash's size).
const MinHS256SecretLength = 32

// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// maxSubjectLength matches the longest customer id.
const maxSubjectLength = 64

// Config says where the keys come from and what a token must say. Exactly one of
// HS256Secret, PublicKeyFile and JWKSURL is set.
type Config struct {
	HS256Secret   []byte
	PublicKeyFile string
	JWKSURL       string
	Issuer        string // checked when set
	Audience      string // checked when set
	Leeway        time.Duration
	HTTPClient    *http.Client // for JWKS; a client with a timeout if nil
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	parser *jwt.Parser
	// keyfunc is jwt.Keyfunc with the request's context, which bounds a wait for a
	// JWKS.
	keyfunc  func(context.Context, *jwt.Token) (any, error)
	jwks     *jwks // the key source, with AUTH_JWKS_URL
	verified verifiedTokens
}

// ErrInvalidToken wraps every reason a token is refused. The reasons are for logs at
// debug level; the client is told only that the token is invalid.
var ErrInvalidToken = errors.New("invalid token")

// NewVerifier returns a verifier for cfg, reading the PEM file now. A JWKS is fetched
// on first use (and again for an unknown key id).
func NewVerifier(cfg Config) (*Verifier, error) {
	sources := 0
	for _, set := range []bool{len(cfg.HS256Secret) > 0, cfg.PublicKeyFile != "", cfg.JWKSURL != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("auth: configure exactly one of AUTH_HS256_SECRET, AUTH_PUBLIC_KEY_FILE and AUTH_JWKS_URL")
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	opts := []jwt.ParserOption{jwt.WithLeeway(cfg.Leeway), jwt.WithExpirationRequired(), jwt.WithIssuedAt()}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &Verifier{}
	switch {
	case len(cfg.HS256Secret) > 0:
		if len(cfg.HS256Secret) < MinHS256SecretLength {
			return nil, fmt.Errorf("auth: AUTH_HS256_SECRET must be at least %d bytes", MinHS256SecretLength)
		}
		secret := cfg.HS256Secret
		// Only HS256: an RS/ES token can never be checked with the secret, and an HS
		// token never with a public key (the alg-confusion attack).
		opts = append(opts, jwt.WithValidMethods([]string{"HS256"}))
		v.keyfunc = func(context.Context, *jwt.Token) (any, error) { return secret, nil }
	case cfg.PublicKeyFile != "":
		pemBytes, err := os.ReadFile(cfg.PublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("auth: AUTH_PUBLIC_KEY_FILE: %w", err)
		}
		key, alg, err := parsePublicKeyPEM(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("auth: AUTH_PUBLIC_KEY_FILE %s: %w", cfg.PublicKeyFile, err)
		}
		opts = append(opts, jwt.WithValidMethods([]string{alg}))
		v.keyfunc = func(context.Context, *jwt.Token) (any, error) { return key, nil }
	default:
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 5 * time.Second}
		}
		set, err := newJWKS(cfg.JWKSURL, client)
		if err != nil {
			return nil, err
		}
		opts = append(opts, jwt.WithValidMethods([]string{"RS256", "ES256"}))
		v.keyfunc, v.jwks = set.keyfunc, set
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// claims are the registered claims and scope.
type claims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope,omitempty"`
}

// UnmarshalJSON refuses exp, nbf and iat that are not JSON numbers (RFC 7519 §2:
// NumericDate): jwt's NumericDate also takes a string holding a number, which another
// verifier of the same token may read differently or refuse.
func (c *claims) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := raw[name]; ok && !isJSONNumber(v) {
			return fmt.Errorf("claim %s is not a JSON number", name)
		}
	}
	type plain claims // without this method
	return json.Unmarshal(b, (*plain)(c))
}

func isJSONNumber(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
}

// refuseCritical refuses a token whose JWS header has crit: it names extensions the
// recipient must understand or reject the token (RFC 7515 §4.1.11), and this verifier
// implements none (a b64=false payload, for one, would be verified as something else).
func refuseCritical(t *jwt.Token) error {
	if _, ok := t.Header["crit"]; ok {
		return errors.New("the JWS header has crit, naming extensions this verifier does not implement")
	}
	return nil
}

// Verify checks token (the bearer credential, without "Bearer ") and returns its
// principal, or an error wrapping ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, token string) (appkit.Principal, error) {
	now := time.Now()
	if p, ok := v.verified.get(token, now); ok {
		return p, nil
	}
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if err := refuseCritical(t); err != nil {
			return nil, err
		}
		return v.keyfunc(ctx, t)
	})
	if err != nil {
		return appkit.Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Subject == "" || utf8.RuneCountInString(c.Subject) > maxSubjectLength || strings.IndexFunc(c.Subject, unicode.IsControl) >= 0 ||
		strings.TrimSpace(c.Subject) == "" {
		return appkit.Principal{}, fmt.Errorf("%w: sub missing or not a customer id", ErrInvalidToken)
	}
	p := appkit.Principal{Subject: c.Subject, Scopes: appkit.ParseScopes(c.Scope)}
	v.verified.put(token, p, c.ExpiresAt.Time, now) // exp is required, so set
	return p, nil
}

// Sign makes an HS256 token for development and tests (`orders token`).
func Sign(secret []byte, subject, scope, issuer, audience string, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinHS256SecretLength {
		return "", fmt.Errorf("auth: the HS256 secret must be at least %d bytes", MinHS256SecretLength)
	}
	c := claims{RegisteredClaims: jwt.RegisteredClaims{Subject: subject, Issuer: issuer,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}, Scope: scope}
	if audience != "" {
		c.Audience = jwt.ClaimStrings{audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

// parsePublicKeyPEM reads an RSA or P-256 public key (PKIX "PUBLIC KEY", PKCS#1 "RSA
// PUBLIC KEY" or a certificate) and returns it with the one algorithm it verifies.
func parsePublicKeyPEM(pemBytes []byte) (any, string, error) {
	if key, err := jwt.ParseRSAPublicKeyFromPEM(pemBytes); err == nil {
		if key.N.BitLen() < 2048 {
			return nil, "", errors.New("RSA key shorter than 2048 bits")
		}
		return key, "RS256", nil
	}
	if key, err := jwt.ParseECPublicKeyFromPEM(pemBytes); err == nil {
		if key.Curve.Params().Name != "P-256" {
			return nil, "", fmt.Errorf("EC key on %s; ES256 needs P-256", key.Curve.Params().Name)
		}
		return key, "ES256", nil
	}
	return nil, "", errors.New("not a PEM RSA or P-256 public key")
}

// keyMatches reports whether key can verify alg (a JWKS may mix key types).
func keyMatches(key any, alg string) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return alg == "RS256"
	case *ecdsa.PublicKey:
		return alg == "ES256"
	}
	return false
}
