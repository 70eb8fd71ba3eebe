package application

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

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}
	seen := map[time.Duration]bool{}
	for i := 0; i < 30; i++ {
		start := time.Now()
		if err := p.backoff(context.Background(), 8); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		if d > 4*time.Millisecond+20*time.Millisecond { // cap plus timer slack on a busy machine
			t.Fatalf("slept %v, above the 4ms cap", d)
		}
		seen[d.Round(500*time.Microsecond)] = true
	}
	if len(seen) < 2 {
		t.Fatalf("30 backoffs all slept the same time: no jitter (%v)", seen)
	}
}
