package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// minRefreshInterval bounds how often an unknown key id makes the set be fetched
// again: tokens with made-up kids must not turn the service into a JWKS hammer.
const minRefreshInterval = 30 * time.Second

// failedFetchRetry is how soon a failed fetch may be tried again.
const failedFetchRetry = 5 * time.Second

// jwks is a JSON Web Key Set fetched from a URL and cached by key id. A token whose
// kid is not in the cache makes it fetch the set again, at most once per
// minRefreshInterval (a key rotation is picked up at once; a flood of unknown kids
// costs one fetch per interval).
type jwks struct {
	url    string
	client *http.Client

	mu        sync.Mutex
	keys      map[string]any
	lastFetch time.Time
	now       func() time.Time
}

func newJWKS(rawURL string, client *http.Client) (*jwks, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("auth: AUTH_JWKS_URL %q is not an http(s) URL", rawURL)
	}
	return &jwks{url: rawURL, client: client, now: time.Now}, nil
}

func (s *jwks) keyfunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	alg, _ := t.Header["alg"].(string)
	if kid == "" {
		return nil, errors.New("token has no kid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := s.keys[kid]
	if !ok && (s.lastFetch.IsZero() || s.now().Sub(s.lastFetch) >= minRefreshInterval) {
		s.lastFetch = s.now()
		keys, err := s.fetch()
		if err != nil {
			// An unreachable JWKS is asked again after failedFetchRetry, not after
			// the full interval, so a blip at start does not refuse every token for
			// half a minute.
			s.lastFetch = s.now().Add(failedFetchRetry - minRefreshInterval)
			return nil, err
		}
		s.keys = keys
		key, ok = s.keys[kid]
	}
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	if !keyMatches(key, alg) {
		return nil, fmt.Errorf("key %q cannot verify %s", kid, alg)
	}
	return key, nil
}

// jwk is the part of a JSON Web Key (RFC 7517) that RS256 and ES256 need.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func (s *jwks) fetch() (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: status %d", resp.StatusCode)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	keys := map[string]any{}
	for _, k := range set.Keys {
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if key, err := k.publicKey(); err == nil {
			keys[k.Kid] = key
		}
	}
	return keys, nil
}

func (k jwk) publicKey() (any, error) {
	b64 := base64.RawURLEncoding
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("bad RSA key %q", k.Kid)
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if key.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key %q shorter than 2048 bits", k.Kid)
		}
		return key, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("EC key %q on %s", k.Kid, k.Crv)
		}
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err := errors.Join(err1, err2); err != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("bad EC key %q", k.Kid)
		}
		// Parse the uncompressed point to have it checked to be on the curve.
		point := append(append([]byte{4}, x...), y...)
		key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil, fmt.Errorf("EC key %q: %w", k.Kid, err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("key %q of type %q", k.Kid, k.Kty)
}
