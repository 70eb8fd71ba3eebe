package application

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// The handler's logic, tested with an in-memory store: a counter aggregate whose
// commands add to it, and a store that can be told to lose races.

var errTooBig = &kit.ConflictError{Resource: "counter", Code: "counter_too_big", Message: "the counter would pass 100"}

var counter = kit.Decider[int, int, int]{
	Decide: func(s, add int) ([]int, error) {
		if s+add > 100 {
			return nil, errTooBig
		}
		if add == 0 {
			return nil, nil
		}
		return []int{add}, nil
	},
	Evolve: func(s, e int) int { return s + e },
}

// memStore is a Transactor whose transactions commit all or nothing.
type memStore struct {
	mu        sync.Mutex
	streams   map[uuid.UUID][]int
	keys      map[IdempotencyKey]IdempotencyRecord
	loseRaces int      // this many appends find that another writer came first
	calls     []string // "load", "lock", "append", "commit", "rollback", in order
}

func newMemStore() *memStore {
	return &memStore{streams: map[uuid.UUID][]int{}, keys: map[IdempotencyKey]IdempotencyRecord{}}
}

type memTx struct {
	s        *memStore
	appended map[uuid.UUID][]int
	saved    map[IdempotencyKey]IdempotencyRecord
}

func (s *memStore) WithinTx(ctx context.Context, fn func(context.Context, StreamTx[int, int]) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{s: s, appended: map[uuid.UUID][]int{}, saved: map[IdempotencyKey]IdempotencyRecord{}}
	if err := fn(ctx, tx); err != nil {
		s.calls = append(s.calls, "rollback")
		return err
	}
	for id, events := range tx.appended {
		s.streams[id] = append(s.streams[id], events...)
	}
	for k, r := range tx.saved {
		s.keys[k] = r
	}
	s.calls = append(s.calls, "commit")
	return nil
}

func (t *memTx) Lock(context.Context, uuid.UUID) error {
	t.s.calls = append(t.s.calls, "lock")
	return nil
}

func (t *memTx) Load(_ context.Context, id uuid.UUID) (Versioned[int], error) {
	t.s.calls = append(t.s.calls, "load")
	events := t.s.streams[id]
	return Versioned[int]{State: counter.Fold(0, events...), Version: int64(len(events))}, nil
}

func (t *memTx) Append(_ context.Context, id uuid.UUID, expected int64, events []int, _ Metadata, at time.Time) ([]RecordedEvent[int], error) {
	t.s.calls = append(t.s.calls, "append")
	if t.s.loseRaces > 0 {
		t.s.loseRaces--
		t.s.streams[id] = append(t.s.streams[id], 1) // the other writer's event
		return nil, &VersionConflictError{Resource: "counter", ID: id, Expected: expected, Actual: int64(len(t.s.streams[id]))}
	}
	if actual := int64(len(t.s.streams[id])); actual != expected {
		return nil, &VersionConflictError{Resource: "counter", ID: id, Expected: expected, Actual: actual}
	}
	t.appended[id] = append(t.appended[id], events...)
	out := make([]RecordedEvent[int], len(events))
	for i, e := range events {
		out[i] = RecordedEvent[int]{Event: e, Version: expected + int64(i) + 1, RecordedAt: at}
	}
	return out, nil
}

func (t *memTx) ClaimIdempotencyKey(_ context.Context, key IdempotencyKey, fingerprint string, _ time.Duration) (IdempotencyRecord, error) {
	if rec, ok := t.s.keys[key]; ok {
		return rec, nil
	}
	t.saved[key] = IdempotencyRecord{Fingerprint: fingerprint}
	return IdempotencyRecord{Claimed: true}, nil
}

func (t *memTx) SaveIdempotentResponse(_ context.Context, key IdempotencyKey, r StoredResponse) error {
	rec := t.saved[key]
	rec.Response = r
	t.saved[key] = rec
	return nil
}

func newCounterHandler(s *memStore, attempts int) *CommandHandler[int, int, int] {
	return NewCommandHandler("counter", s, counter, RunnerConfig{Retry: RetryPolicy{MaxAttempts: attempts}})
}

func add(id uuid.UUID, n int, opts CommandOptions[int]) Command[int, int] {
	return Command[int, int]{Name: "Add", ID: id, Options: opts, Build: func(time.Time) int { return n }}
}

func TestIfMatchMismatchIsAnsweredAtOnce(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5)
	if _, err := h.Handle(AsSystem(context.Background()), add(id, 3, CommandOptions[int]{})); err != nil {
		t.Fatal(err)
	}
	s.calls = nil
	_, err := h.Handle(AsSystem(context.Background()), add(id, 1, CommandOptions[int]{ExpectedVersions: []int64{4, 7}}))
	var conflict *VersionConflictError
	if !errors.As(err, &conflict) || conflict.Retried || conflict.Actual != 1 || conflict.Resource != "counter" {
		t.Fatalf("err = %v (%+v), want a version conflict at version 1, not retried", err, conflict)
	}
	if want := []string{"load", "rollback"}; !slices.Equal(s.calls, want) {
		t.Fatalf("calls %v, want %v: one attempt, no append", s.calls, want)
	}
	res, err := h.Handle(AsSystem(context.Background()), add(id, 1, CommandOptions[int]{ExpectedVersions: []int64{4, 1}}))
	if err != nil || res.View.Version != 2 || res.View.State != 4 {
		t.Fatalf("a list that names the current version: %+v %v", res, err)
	}
}

func TestLostRaceIsRetriedAndTheRetryLocksFirst(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	s.loseRaces = 1
	h := newCounterHandler(s, 5)
	res, err := h.Handle(AsSystem(context.Background()), add(id, 5, CommandOptions[int]{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"load", "append", "rollback", "lock", "load", "append", "commit"}; !slices.Equal(s.calls, want) {
		t.Fatalf("calls %v, want %v", s.calls, want)
	}
	if res.View.State != 6 || res.View.Version != 2 {
		t.Fatalf("decided on the other writer's state? %+v", res.View)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	s.loseRaces = 100
	h := newCounterHandler(s, 3)
	_, err := h.Handle(AsSystem(context.Background()), add(id, 1, CommandOptions[int]{}))
	var conflict *VersionConflictError
	if !errors.As(err, &conflict) || !conflict.Retried {
		t.Fatalf("err = %v, want a retried version conflict", err)
	}
	if n := countOf(s.calls, "append"); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestIdempotentRepeatReplaysTheStoredResponse(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5)
	renders := 0
	opts := func(fp string) CommandOptions[int] {
		return CommandOptions[int]{Idempotency: &Idempotency[int]{Key: "k1", Fingerprint: fp,
			Render: func(v Versioned[int], err error) (StoredResponse, bool) {
				renders++
				return StoredResponse{Status: 200, Body: []byte{byte(v.State)}}, true //nolint:gosec // the counter stays below 256 in this test
			}}}
	}
	first, err := h.Handle(AsSystem(context.Background()), add(id, 7, opts("a")))
	if err != nil || first.Replayed || first.Response == nil || first.Response.Body[0] != 7 {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := h.Handle(AsSystem(context.Background()), add(id, 7, opts("a")))
	if err != nil || !again.Replayed || again.Response.Body[0] != 7 || renders != 1 {
		t.Fatalf("repeat: %+v %v (%d renders)", again, err, renders)
	}
	if got := s.streams[id]; !slices.Equal(got, []int{7}) {
		t.Fatalf("the repeat appended again: %v", got)
	}
	if _, err := h.Handle(AsSystem(context.Background()), add(id, 8, opts("b"))); !errors.Is(err, ErrIdempotencyKeyReused) {
		t.Fatalf("another request under the same key: %v", err)
	}
}

func TestRejectedCommandIsStoredForRepeats(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5)
	opts := CommandOptions[int]{Idempotency: &Idempotency[int]{Key: "k2", Fingerprint: "f",
		Render: func(_ Versioned[int], err error) (StoredResponse, bool) {
			if errors.Is(err, errTooBig) {
				return StoredResponse{Status: 409}, true
			}
			return StoredResponse{Status: 200}, true
		}}}
	res, err := h.Handle(AsSystem(context.Background()), add(id, 500, opts))
	if !errors.Is(err, errTooBig) || res.Response == nil || res.Response.Status != 409 {
		t.Fatalf("rejection: %+v %v", res, err)
	}
	if s.keys[IdempotencyKey{Scope: "system", Key: "k2"}].Response.Status != 409 || len(s.streams[id]) != 0 {
		t.Fatalf("want the 409 committed and no events: %+v %v", s.keys[IdempotencyKey{Scope: "system", Key: "k2"}], s.streams[id])
	}
	again, err := h.Handle(AsSystem(context.Background()), add(id, 500, opts))
	if err != nil || !again.Replayed || again.Response.Status != 409 {
		t.Fatalf("repeat of a rejection: %+v %v", again, err)
	}
}

func TestOutcomeNotWorthKeepingRollsBack(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5)
	opts := CommandOptions[int]{Idempotency: &Idempotency[int]{Key: "k3", Fingerprint: "f",
		Render: func(_ Versioned[int], err error) (StoredResponse, bool) { return StoredResponse{}, err == nil }}}
	if _, err := h.Handle(AsSystem(context.Background()), add(id, 500, opts)); !errors.Is(err, errTooBig) {
		t.Fatalf("err = %v", err)
	}
	if _, kept := s.keys[IdempotencyKey{Scope: "system", Key: "k3"}]; kept {
		t.Fatal("a response the renderer did not keep was stored")
	}
}

func TestNoEventsMeansNoAppend(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5)
	res, err := h.Handle(AsSystem(context.Background()), add(id, 0, CommandOptions[int]{}))
	if err != nil || res.View.Version != 0 || countOf(s.calls, "append") != 0 {
		t.Fatalf("a command already satisfied: %+v %v %v", res, err, s.calls)
	}
}

func countOf(calls []string, what string) int {
	n := 0
	for _, c := range calls {
		if c == what {
			n++
		}
	}
	return n
}

// A keyed command without If-Match that loses a race is retried like any other, and
// nothing is kept under its key for the lost attempt, whatever the renderer would keep:
// a renderer that keeps every outcome once stored the conflict, and the retry and every
// repeat of the request replayed it.
func TestLostRaceOfAKeyedCommandIsRetriedNotStored(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	s.loseRaces = 1
	h := newCounterHandler(s, 5)
	var rendered []error
	opts := CommandOptions[int]{Idempotency: &Idempotency[int]{Key: "k4", Fingerprint: "f",
		Render: func(v Versioned[int], err error) (StoredResponse, bool) {
			rendered = append(rendered, err)
			if err != nil {
				return StoredResponse{Status: 412}, true
			}
			return StoredResponse{Status: 200, Body: []byte{byte(v.State)}}, true //nolint:gosec // the counter stays below 256 in this test
		}}}
	res, err := h.Handle(AsSystem(context.Background()), add(id, 5, opts))
	if err != nil || res.Replayed || res.Response == nil || res.Response.Status != 200 {
		t.Fatalf("the keyed command: %+v %v, want it retried to a 200", res, err)
	}
	if len(rendered) != 1 || rendered[0] != nil {
		t.Fatalf("rendered %v, want only the successful attempt", rendered)
	}
	again, err := h.Handle(AsSystem(context.Background()), add(id, 5, opts))
	if err != nil || !again.Replayed || again.Response.Status != 200 || again.Response.Body[0] != 6 {
		t.Fatalf("a repeat: %+v %v, want the stored 200", again, err)
	}
}
