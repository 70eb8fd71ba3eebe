package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwksServer serves a JWKS, slowly while slow is set (each fetch then waits for
// release), and counts the fetches and how many ran at once.
type jwksServer struct {
	url  string
	mu   sync.Mutex
	keys []map[string]string

	slow                           atomic.Bool
	release                        chan struct{}
	fetches, inFlight, maxInFlight atomic.Int32
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxInFlight.Load(); n > m && !s.maxInFlight.CompareAndSwap(m, n); m = s.maxInFlight.Load() {
	}
	if s.slow.Load() {
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
}

func (s *jwksServer) add(kid string, key *rsa.PublicKey) {
	b64 := base64.RawURLEncoding
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, map[string]string{"kty": "RSA", "kid": kid, "n": b64.EncodeToString(key.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(key.E)).Bytes())})
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	s := &jwksServer{release: make(chan struct{})}
	srv := httptest.NewServer(s)
	s.url = srv.URL
	t.Cleanup(srv.Close)
	t.Cleanup(func() { // before srv.Close, which waits for the handlers
		select {
		case <-s.release:
		default:
			close(s.release)
		}
	})
	return s
}

// jwksVerifier is a verifier of srv's keys, and its JWKS, whose fetches time out
// after a second.
func jwksVerifier(t *testing.T, srv *jwksServer) (*Verifier, *jwks) {
	t.Helper()
	v, err := NewVerifier(Config{JWKSURL: srv.url})
	if err != nil {
		t.Fatal(err)
	}
	v.jwks.fetchTimeout = time.Second
	return v, v.jwks
}

// fakeClock is the JWKS's clock, for its refetch interval.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rsSigner signs RS256 tokens; each is new (another jti), so that the verifier's cache
// of verified tokens never answers for it.
func rsSigner(t *testing.T, key *rsa.PrivateKey) func(kid string) string {
	var n atomic.Int64
	return func(kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, valid(map[string]any{"jti": fmt.Sprint(n.Add(1)), "iss": nil, "aud": nil}))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Error(err)
		}
		return s
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestJWKSRefetchKeepsOutOfTheWay: while a slow JWKS is being fetched again (for
// unknown kids), tokens whose key is known answer at once; 50 concurrent tokens with
// unknown kids cause one fetch, those whose key the fetch brings (a rotation) pass, and
// later floods of unknown kids fetch again only after the refetch interval. The fetch
// held a lock during the HTTP call: every token not yet verified waited for it.
func TestJWKSRefetchKeepsOutOfTheWay(t *testing.T) {
	srv := newJWKSServer(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv.add("r1", &key.PublicKey)
	v, set := jwksVerifier(t, srv)
	clock := &fakeClock{t: time.Now()}
	set.now = clock.now
	sign := rsSigner(t, key)
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign("r1")); err != nil {
		t.Fatal(err)
	}

	// The interval has passed; the JWKS turns slow and has a new key.
	clock.advance(minRefreshInterval + time.Second)
	srv.slow.Store(true)
	srv.add("r2", &key.PublicKey)
	const flood = 50
	results := make(chan error, flood)
	for i := range flood {
		kid := fmt.Sprintf("unknown-%d", i)
		if i%10 == 0 {
			kid = "r2"
		}
		tok := sign(kid)
		go func() {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, err := v.Verify(ctx, tok)
			results <- err
		}()
	}
	waitFor(t, "the refetch to start", func() bool { return srv.inFlight.Load() == 1 })

	known := make(chan time.Duration, 1)
	go func() {
		var slowest time.Duration
		for range 20 {
			start := time.Now()
			if _, err := v.Verify(ctx, sign("r1")); err != nil {
				t.Errorf("known key during the refetch: %v", err)
			}
			slowest = max(slowest, time.Since(start))
		}
		known <- slowest
	}()
	select {
	case slowest := <-known:
		if slowest > 200*time.Millisecond {
			t.Errorf("a token with a known key took %v during the refetch", slowest)
		}
		if srv.inFlight.Load() != 1 {
			t.Errorf("the refetch ended while the JWKS had not answered")
		}
	case <-time.After(2 * time.Second):
		start := time.Now()
		close(srv.release)
		t.Errorf("20 tokens with a known key still waiting after 2s of a refetch; the last one answered %v after the JWKS did", func() time.Duration { <-known; return time.Since(start) }())
	}
	select {
	case <-srv.release:
	default:
		close(srv.release)
	}

	passed := 0
	for range flood {
		switch err := <-results; {
		case err == nil:
			passed++
		case !errors.Is(err, ErrInvalidToken):
			t.Errorf("unknown kid: %v", err)
		}
	}
	if passed != flood/10 {
		t.Errorf("%d tokens of the rotated-in key passed, want %d", passed, flood/10)
	}
	if n, m := srv.fetches.Load(), srv.maxInFlight.Load(); n != 2 || m != 1 {
		t.Errorf("%d fetches, at most %d at once, for %d concurrent unknown kids; want 2 in all (the first and one refetch), one at a time", n, m, flood)
	}

	// Within the interval another flood fetches nothing; after it, once.
	flood2 := func() {
		var wg sync.WaitGroup
		for i := range flood {
			tok := sign(fmt.Sprintf("other-%d", i))
			wg.Go(func() {
				if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
					t.Errorf("unknown kid: %v", err)
				}
			})
		}
		wg.Wait()
	}
	flood2()
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("a flood of unknown kids within the interval fetched: %d fetches in all, want 2", n)
	}
	clock.advance(minRefreshInterval + time.Second)
	flood2()
	if n, m := srv.fetches.Load(), srv.maxInFlight.Load(); n != 3 || m != 1 {
		t.Errorf("a flood after the interval: %d fetches in all, at most %d at once; want 3, one at a time", n, m)
	}
}

// TestJWKSWaitEndsWithTheRequest: a token waiting for a JWKS that does not answer is
// refused when its request's context ends, not when the fetch gives up; the fetch
// itself ends at its timeout.
func TestJWKSWaitEndsWithTheRequest(t *testing.T) {
	srv := newJWKSServer(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv.add("r1", &key.PublicKey)
	srv.slow.Store(true) // and never released
	v, _ := jwksVerifier(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := v.Verify(ctx, rsSigner(t, key)("r1")); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a token whose JWKS does not answer: %v", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("refused after %v, its context ended after 200ms", elapsed)
	}
	waitFor(t, "the fetch to time out", func() bool { return srv.inFlight.Load() == 0 })
}
