package appkit

import (
	"context"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how a command is retried after losing an optimistic-concurrency race.
type RetryPolicy struct {
	MaxAttempts int           // total attempts, including the first
	BaseDelay   time.Duration // backoff before the second attempt, doubled each time
	MaxDelay    time.Duration // cap on one backoff
}

// DefaultRetryPolicy fits short transactions: a loser waits a few milliseconds, by which
// time the winner has usually committed.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 10, BaseDelay: 2 * time.Millisecond, MaxDelay: 100 * time.Millisecond}
}

// backoff sleeps for delay(retry) and returns early with the context's error.
func (p RetryPolicy) backoff(ctx context.Context, retry int) error {
	d, ok := p.delay(retry)
	if !ok {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// delay is a random time in [0, min(MaxDelay, BaseDelay*2^retry)) ("full jitter",
// which spreads racing retries apart); a BaseDelay of 0 (or one that overflows) leaves
// MaxDelay. ok is false when the policy sets no delay at all.
func (p RetryPolicy) delay(retry int) (d time.Duration, ok bool) {
	ceiling := p.BaseDelay << min(retry, 20)
	if ceiling <= 0 || ceiling > p.MaxDelay {
		ceiling = p.MaxDelay
	}
	if ceiling <= 0 {
		return 0, false
	}
	return rand.N(ceiling), true //nolint:gosec // jitter, not security
}
