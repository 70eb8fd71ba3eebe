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

// fetchTimeout bounds one fetch of the set, whatever the HTTP client's own timeout.
const fetchTimeout = 5 * time.Second

// jwks is a JSON Web Key Set fetched from a URL and cached by key id. A token whose
// kid is not in the cache makes it fetch the set again, at most once per
// minRefreshInterval (a key rotation is picked up at once; a flood of unknown kids
// costs one fetch per interval).
//
// The fetch runs outside the lock, one at a time, in its own goroutine: a token whose
// key is cached never waits for it (with the lock held during the HTTP call, every
// token not yet verified waited for a slow JWKS), and tokens with unknown kids share
// the fetch in flight, each waiting no longer than its request allows.
type jwks struct {
	url          string
	client       *http.Client
	fetchTimeout time.Duration
	now          func() time.Time

	mu        sync.Mutex
	keys      map[string]any
	nextFetch time.Time  // before it, an unknown kid does not start a fetch
	inFlight  *fetchCall // the fetch running, if any
}

// fetchCall is one fetch of the set; err is set before done is closed.
type fetchCall struct {
	done chan struct{}
	err  error
}

func newJWKS(rawURL string, client *http.Client) (*jwks, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("auth: AUTH_JWKS_URL %q is not an http(s) URL", rawURL)
	}
	return &jwks{url: rawURL, client: client, fetchTimeout: fetchTimeout, now: time.Now}, nil
}

// keyfunc returns the key of the token's kid, waiting, if it is not cached, for a
// fetch of the set (the one in flight, or a new one if the interval allows it) until
// ctx ends.
func (s *jwks) keyfunc(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	alg, _ := t.Header["alg"].(string)
	if kid == "" {
		return nil, errors.New("token has no kid")
	}
	key, call := s.lookup(ctx, kid)
	if key == nil && call != nil {
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the JWKS: %w", context.Cause(ctx))
		}
		if call.err != nil {
			return nil, call.err
		}
		s.mu.Lock()
		key = s.keys[kid]
		s.mu.Unlock()
	}
	if key == nil {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	if !keyMatches(key, alg) {
		return nil, fmt.Errorf("key %q cannot verify %s", kid, alg)
	}
	return key, nil
}

// lookup returns kid's cached key or, if there is none, the fetch to wait for: the one
// in flight, or one it starts if the interval allows (nil if it does not).
func (s *jwks) lookup(ctx context.Context, kid string) (any, *fetchCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key, ok := s.keys[kid]; ok {
		return key, nil
	}
	if s.inFlight == nil && !s.now().Before(s.nextFetch) {
		s.inFlight = &fetchCall{done: make(chan struct{})}
		go s.refresh(context.WithoutCancel(ctx), s.inFlight)
	}
	return nil, s.inFlight
}

// refresh fetches the set into the cache and ends call. The fetch is the set's, not a
// request's (ctx keeps the request's values, not its end): a caller that stops waiting
// does not cancel it for the others.
func (s *jwks) refresh(ctx context.Context, call *fetchCall) {
	keys, err := s.fetch(ctx)
	s.mu.Lock()
	if err == nil {
		s.keys = keys
		s.nextFetch = s.now().Add(minRefreshInterval)
	} else {
		// An unreachable JWKS is asked again after failedFetchRetry, not after the
		// full interval, so a blip at start does not refuse every token for half a
		// minute.
		s.nextFetch = s.now().Add(failedFetchRetry)
	}
	s.inFlight = nil
	s.mu.Unlock()
	call.err = err
	close(call.done)
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

func (s *jwks) fetch(ctx context.Context) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.fetchTimeout)
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
	defer func() { _ = resp.Body.Close() }()
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
