package application

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

// backoff sleeps a random time in [0, min(MaxDelay, BaseDelay*2^retry)) ("full jitter",
// which spreads racing retries apart) and returns early with the context's error.
func (p RetryPolicy) backoff(ctx context.Context, retry int) error {
	ceiling := p.BaseDelay << min(retry, 20)
	if ceiling <= 0 || ceiling > p.MaxDelay {
		ceiling = p.MaxDelay
	}
	if ceiling <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(rand.N(ceiling)) //nolint:gosec // jitter, not security
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
