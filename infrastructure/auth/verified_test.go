package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/example/orders/application/appkit"
)

// A token that passed is remembered until it expires, and at most maxVerifiedAge; a
// refused one never is.
func TestVerifiedTokensAreRememberedUntilTheyExpire(t *testing.T) {
	v, err := NewVerifier(Config{HS256Secret: secret, Issuer: "https://issuer", Audience: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	good := hsToken(t, valid(nil), secret)
	wrongKey := hsToken(t, valid(nil), []byte("another-secret-of-32-bytes-......"))
	for range 2 {
		if _, err := v.Verify(context.Background(), good); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), wrongKey); err == nil {
			t.Fatal("a token signed with another key was accepted")
		}
	}
	if _, ok := v.verified.entries[good]; !ok || len(v.verified.entries) != 1 {
		t.Fatalf("remembered %d tokens (the good one: %v), want only the good one", len(v.verified.entries), ok)
	}

	var c verifiedTokens
	now := time.Now()
	p := appkit.Principal{Subject: "alice"}
	c.put("soon", p, now.Add(time.Second), now)
	c.put("later", p, now.Add(time.Hour), now)
	c.put("expired", p, now.Add(-time.Second), now)
	for _, tc := range []struct {
		token string
		at    time.Time
		want  bool
	}{
		{"soon", now, true}, {"soon", now.Add(time.Second), false},
		{"later", now.Add(maxVerifiedAge - time.Millisecond), true}, {"later", now.Add(maxVerifiedAge), false},
		{"expired", now, false}, {"unknown", now, false},
	} {
		if got, ok := c.get(tc.token, tc.at); ok != tc.want || (ok && got.Subject != "alice") {
			t.Errorf("%s at +%v: %+v, %v; want found=%v", tc.token, tc.at.Sub(now), got, ok, tc.want)
		}
	}
	for i := range maxVerifiedTokens + 1 {
		c.put(fmt.Sprint(i), p, now.Add(time.Hour), now)
	}
	if n := len(c.entries); n > maxVerifiedTokens {
		t.Fatalf("%d tokens remembered, bound %d", n, maxVerifiedTokens)
	}
}
