package appkit

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A RunnerConfig left zero retries with DefaultRetryPolicy: ten attempts after the
// optimistic guess, nine of them locked retries, before the lost race is the answer.
func TestAZeroConfigRetriesByTheDefaultPolicy(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	s.loseRaces = 100
	h := NewCommandHandler("counter", s, counter, RunnerConfig{})
	_, err := h.Handle(system(), add(id, 1, CommandOptions{}))
	var conflict *VersionConflictError
	if !errors.As(err, &conflict) || !conflict.Retried {
		t.Fatalf("err = %v, want a retried version conflict", err)
	}
	want := DefaultRetryPolicy().MaxAttempts
	if n, locks := countOf(s.calls, "append"), countOf(s.calls, "lock"); n != 1+want || locks != want-1 {
		t.Fatalf("%d appends and %d locks, want the guess and %d lost races, %d of them locked", n, locks, want, want-1)
	}
}

// Kept outcomes are claimed for IdempotencyRetention, 24 hours unless set.
func TestKeysAreKeptForTheRetention(t *testing.T) {
	for _, tc := range []struct {
		retention, want time.Duration
	}{
		{0, 24 * time.Hour},
		{-time.Minute, 24 * time.Hour},
		{48 * time.Hour, 48 * time.Hour},
	} {
		s := newMemStore()
		h := NewCommandHandler("counter", s, counter, RunnerConfig{IdempotencyRetention: tc.retention})
		if _, err := h.Handle(system(), add(uuid.New(), 1, keyed("k", "f"))); err != nil {
			t.Fatal(err)
		}
		if len(s.retentions) == 0 || s.retentions[0] != tc.want {
			t.Fatalf("retention %v: keys claimed for %v, want %v", tc.retention, s.retentions, tc.want)
		}
	}
}

// Every command writes the traceparent of the span in its context into its events'
// metadata, unless the caller set one already.
func TestTheTraceparentIsWrittenUnlessTheCallerSetOne(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := NewCommandHandler("counter", s, counter, RunnerConfig{Traceparent: func(context.Context) string { return "00-from-the-span-01" }})
	if _, err := h.Handle(system(), add(id, 1, CommandOptions{})); err != nil {
		t.Fatal(err)
	}
	ctx := WithMetadata(system(), Metadata{Traceparent: "00-the-callers-01"})
	if _, err := h.Handle(ctx, add(id, 1, CommandOptions{})); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, md := range s.metadata {
		got = append(got, md.Traceparent)
	}
	if want := []string{"00-from-the-span-01", "00-the-callers-01"}; !slices.Equal(got, want) {
		t.Fatalf("traceparents written %q, want %q", got, want)
	}
}

// An If-Match list that names no version at all matches no stream: a conflict, at once,
// that expected nothing in particular (version 0).
func TestAnEmptyIfMatchListIsAConflict(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5, nil)
	_, err := h.Handle(system(), add(id, 1, CommandOptions{ExpectedVersions: []int64{}}))
	var conflict *VersionConflictError
	if !errors.As(err, &conflict) || conflict.Retried || conflict.Expected != 0 || conflict.Actual != 0 {
		t.Fatalf("err = %v (%+v), want a version conflict at version 0, not retried", err, conflict)
	}
	if countOf(s.calls, "append") != 0 {
		t.Fatalf("calls %v: appended", s.calls)
	}
}

// The wait before the first retry is at most BaseDelay (BaseDelay << 0), the next ones
// longer. Each of 15 commands loses one race, with BaseDelay 100ms: its wait is drawn
// from [0, 100ms), and the command must end within 250ms (150ms for a busy machine's
// timers, per wait rather than shared by all). A wait drawn as a later retry's, from
// [0, 400ms), exceeds 250ms 3 times in 8: all 15 stay under it once in 1,000 runs.
func TestTheFirstRetryWaitsAtMostBaseDelay(t *testing.T) {
	s := newMemStore()
	h := NewCommandHandler("counter", s, counter, RunnerConfig{Retry: RetryPolicy{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Hour}})
	for range 15 {
		id := uuid.New()
		s.streams[id], s.remembered[id] = []int{1}, 1
		s.loseRaces = 2 // the guess's check and the read attempt's append: one lost race
		start := time.Now()
		if _, err := h.Handle(system(), add(id, 1, CommandOptions{})); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Fatalf("a first retry waited %v, want at most BaseDelay (100ms)", took)
		}
	}
	if locks := countOf(s.calls, "lock"); locks != 15 {
		t.Fatalf("%d locked retries, want one per command", locks)
	}
}
