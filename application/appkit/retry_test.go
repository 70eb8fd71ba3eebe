package appkit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffStopsAtOnceWhenTheContextEnds(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	err := p.backoff(ctx, 5)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Fatalf("backoff ignored the cancelled context for %v", waited)
	}
}

// TestBackoffIsJitteredAndCapped checks the delays themselves, not the time slept: a
// sleep's length is mostly timer noise on a busy machine, so measuring could not tell a
// fixed delay from a random one. A jittered delay spreads over [0, ceiling): 1,000 of
// them all in one half of it would happen once in 2^999, so the test is not flaky, and
// a fixed delay (the ceiling, or none) fails it every time.
func TestBackoffIsJitteredAndCapped(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		policy  RetryPolicy
		retry   int
		ceiling time.Duration
	}{
		{RetryPolicy{BaseDelay: ms, MaxDelay: 6 * ms}, 0, ms},             // BaseDelay before the second attempt
		{RetryPolicy{BaseDelay: ms, MaxDelay: 6 * ms}, 1, 2 * ms},         // doubled each time
		{RetryPolicy{BaseDelay: ms, MaxDelay: 6 * ms}, 2, 4 * ms},         //
		{RetryPolicy{BaseDelay: ms, MaxDelay: 6 * ms}, 3, 6 * ms},         // capped: 8ms > MaxDelay
		{RetryPolicy{BaseDelay: ms, MaxDelay: 4 * ms}, 2, 4 * ms},         // exactly the cap
		{RetryPolicy{BaseDelay: ms, MaxDelay: 6 * ms}, 1000, 6 * ms},      // past 20 retries the ceiling stays put
		{RetryPolicy{BaseDelay: time.Hour, MaxDelay: 6 * ms}, 40, 6 * ms}, // a long BaseDelay is capped too
		{RetryPolicy{BaseDelay: 0, MaxDelay: 6 * ms}, 3, 6 * ms},          // no base: MaxDelay
		{DefaultRetryPolicy(), 0, 2 * ms},                                 //
		{DefaultRetryPolicy(), 9, 100 * ms},                               //
	} {
		low, high := 0, 0
		for range 1000 {
			d, ok := c.policy.delay(c.retry)
			if !ok || d < 0 || d >= c.ceiling {
				t.Fatalf("%+v retry %d: delay %v (%v), want in [0, %v)", c.policy, c.retry, d, ok, c.ceiling)
			}
			if d < c.ceiling/2 {
				low++
			} else {
				high++
			}
		}
		if low == 0 || high == 0 {
			t.Fatalf("%+v retry %d: 1,000 delays all in one half of [0, %v) (%d below, %d above): no jitter", c.policy, c.retry, c.ceiling, low, high)
		}
	}
}

// A policy without delays retries at once: backoff neither sleeps nor fails.
func TestBackoffWithoutDelaysReturnsAtOnce(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 3}
	if d, ok := p.delay(4); ok || d != 0 {
		t.Fatalf("delay of a policy without delays = %v, %v", d, ok)
	}
	if err := p.backoff(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.backoff(ctx, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("backoff in an ended context = %v, want its error", err)
	}
}

// backoff sleeps the delay: a 30ms delay is not cut short.
func TestBackoffSleeps(t *testing.T) {
	p := RetryPolicy{BaseDelay: time.Second, MaxDelay: 60 * time.Millisecond}
	start := time.Now()
	if err := p.backoff(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	// Any one sleep may be short (the delay is random); five in a row all under 1ms
	// would happen once in 60^5 runs.
	for range 4 {
		if err := p.backoff(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
	}
	if slept := time.Since(start); slept < time.Millisecond {
		t.Fatalf("five backoffs of up to 60ms took %v", slept)
	}
}
