package appkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// The write loop, tested with an in-memory EventStore that behaves like the PostgreSQL
// one: an Optimistic attempt answers Load from what it remembers (which may be stale)
// and checks that guess when it commits; it can be told to lose races.

var (
	errTooBig = &kit.ConflictError{Resource: "counter", Code: "counter_too_big", Message: "the counter would pass 100"}
	errBroken = errors.New("the decider broke")
)

var counter = kit.Decider[int, int, int]{
	Decide: func(s, add int) ([]int, error) {
		switch {
		case add == -1:
			return nil, errBroken
		case s+add > 100:
			return nil, errTooBig
		case add == 0:
			return nil, nil
		}
		return []int{add}, nil
	},
	Evolve: func(s, e int) int { return s + e },
}

// memStore is an EventStore whose attempts commit all or nothing.
type memStore struct {
	mu         sync.Mutex
	streams    map[uuid.UUID][]int
	remembered map[uuid.UUID]int64 // the version an Optimistic Load assumes
	keys       map[IdempotencyKey]IdempotencyRecord
	loseRaces  int      // this many checked appends find that another writer came first
	calls      []string // "load", "guess", "loadVersion", "lock", "append", "commit", "rollback", in order
	metadata   []Metadata
	times      []time.Time
	retentions []time.Duration // of every key claimed
}

func newMemStore() *memStore {
	return &memStore{streams: map[uuid.UUID][]int{}, remembered: map[uuid.UUID]int64{}, keys: map[IdempotencyKey]IdempotencyRecord{}}
}

type memTx struct {
	s                   *memStore
	id                  uuid.UUID
	mode                Mode
	view                Versioned[int]
	unverified, guarded bool
	appended            []int
	expected            int64
	kept                map[IdempotencyKey]IdempotencyRecord
}

func (s *memStore) Attempt(ctx context.Context, id uuid.UUID, mode Mode, fn func(context.Context, StreamTx[int, int]) error) (Versioned[int], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{s: s, id: id, mode: mode, kept: map[IdempotencyKey]IdempotencyRecord{}}
	if mode == Lock {
		s.calls = append(s.calls, "lock")
	}
	err := fn(ctx, tx)
	if tx.unverified && !tx.guarded {
		err = ErrUnverified // decided (or failed) on a guess that nothing will check
	}
	if err == nil && tx.guarded && s.otherWriterFirst(id) != tx.expected {
		err = ErrUnverified // the guarded append's check, at commit
	}
	if err != nil {
		s.calls = append(s.calls, "rollback")
		return Versioned[int]{}, err
	}
	s.streams[id] = append(s.streams[id], tx.appended...)
	s.remembered[id] = int64(len(s.streams[id]))
	for k, r := range tx.kept {
		s.keys[k] = r
	}
	s.calls = append(s.calls, "commit")
	return tx.view, nil
}

// otherWriterFirst lets another writer append first while races are to be lost, and
// returns the stream's version.
func (s *memStore) otherWriterFirst(id uuid.UUID) int64 {
	if s.loseRaces > 0 {
		s.loseRaces--
		s.streams[id] = append(s.streams[id], 1)
	}
	return int64(len(s.streams[id]))
}

func (s *memStore) state(id uuid.UUID, version int64) Versioned[int] {
	return Versioned[int]{State: counter.Fold(0, s.streams[id][:version]...), Version: version, Position: version * 10}
}

func (t *memTx) Load(context.Context) (Versioned[int], error) {
	if t.mode == Optimistic {
		t.s.calls = append(t.s.calls, "guess")
		t.unverified = true
		t.view = t.s.state(t.id, min(t.s.remembered[t.id], int64(len(t.s.streams[t.id]))))
		t.view.Version = t.s.remembered[t.id] // what the store remembers, right or wrong
		return t.view, nil
	}
	t.s.calls = append(t.s.calls, "load")
	t.view = t.s.state(t.id, int64(len(t.s.streams[t.id])))
	return t.view, nil
}

func (t *memTx) LoadVersion(_ context.Context, id uuid.UUID, version int64) (Versioned[int], error) {
	t.s.calls = append(t.s.calls, "loadVersion")
	t.view = t.s.state(id, version)
	return t.view, nil
}

func (t *memTx) Append(_ context.Context, expected int64, events []int, md Metadata, at time.Time) error {
	t.s.calls = append(t.s.calls, "append")
	t.s.metadata, t.s.times = append(t.s.metadata, md), append(t.s.times, at)
	if t.unverified {
		t.guarded, t.expected = true, expected
	} else if actual := t.s.otherWriterFirst(t.id); actual != expected {
		return &VersionConflictError{Resource: "counter", ID: t.id, Expected: expected, Actual: actual}
	}
	t.appended = events
	version := expected + int64(len(events))
	t.view = Versioned[int]{State: counter.Fold(t.view.State, events...), Version: version, Position: version * 10}
	return nil
}

func (t *memTx) ClaimIdempotencyKey(_ context.Context, key IdempotencyKey, fingerprint string, retention time.Duration) (IdempotencyRecord, error) {
	t.s.retentions = append(t.s.retentions, retention)
	if rec, ok := t.s.keys[key]; ok {
		return rec, nil
	}
	t.kept[key] = IdempotencyRecord{Fingerprint: fingerprint}
	return IdempotencyRecord{Claimed: true}, nil
}

func (t *memTx) KeepOutcome(_ context.Context, key IdempotencyKey, outcome KeptOutcome) error {
	rec := t.kept[key]
	rec.Outcome = outcome
	t.kept[key] = rec
	return nil
}

// recorder is a CommandObserver that writes down what it is told.
type recorder struct {
	attempts []string // "<attempt>:<outcome>"
	finished []string // "<outcome>/<attempts>"
}

func (r *recorder) AttemptStarted(ctx context.Context, _, _ string, _ uuid.UUID, attempt int) (context.Context, func(string)) {
	return ctx, func(outcome string) { r.attempts = append(r.attempts, strconv.Itoa(attempt)+":"+outcome) }
}

func (r *recorder) CommandFinished(_, outcome string, attempts int) {
	r.finished = append(r.finished, outcome+"/"+strconv.Itoa(attempts))
}

func newCounterHandler(s *memStore, attempts int, obs CommandObserver) *CommandHandler[int, int, int] {
	now := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	return NewCommandHandler("counter", s, counter, RunnerConfig{Retry: RetryPolicy{MaxAttempts: attempts}, Observer: obs, Now: func() time.Time { return now }})
}

func add(id uuid.UUID, n int, opts CommandOptions) Command[int, int] {
	return Command[int, int]{Name: "Add", ID: id, Options: opts, Build: func(time.Time) int { return n }}
}

func keyed(key, fingerprint string) CommandOptions {
	return CommandOptions{Idempotency: &Idempotency{Key: key, Fingerprint: fingerprint}}
}

func system() context.Context { return AsSystem(context.Background()) }

func wantCalls(t *testing.T, s *memStore, want ...string) {
	t.Helper()
	if !slices.Equal(s.calls, want) {
		t.Fatalf("calls %v, want %v", s.calls, want)
	}
	s.calls = nil
}

func TestCommonCaseIsOneOptimisticAttempt(t *testing.T) {
	s, id, obs := newMemStore(), uuid.New(), &recorder{}
	h := newCounterHandler(s, 1, obs)
	res, err := h.Handle(system(), add(id, 3, CommandOptions{}))
	if err != nil || res.View.State != 3 || res.View.Version != 1 || res.View.Position != 10 {
		t.Fatalf("%+v %v", res, err)
	}
	wantCalls(t, s, "guess", "append", "commit")
	if !slices.Equal(obs.attempts, []string{"1:ok"}) || !slices.Equal(obs.finished, []string{"ok/1"}) {
		t.Fatalf("observed %v %v", obs.attempts, obs.finished)
	}
	md := s.metadata[0]
	if md.Command != "Add" || md.Actor != System().Subject || md.Actor == "" {
		t.Fatalf("metadata %+v: want the command's name and the caller's subject", md)
	}
	if want := time.Date(2026, 12, 6, 9, 0, 0, 123456000, time.UTC); !s.times[0].Equal(want) || s.times[0].Location() != time.UTC {
		t.Fatalf("recorded at %v, want %v: UTC, in microseconds", s.times[0], want)
	}
}

// A stale guess costs one more transaction, reading, at once: it is no lost race, so it
// spends none of the retry budget (MaxAttempts 1 here) and waits no backoff.
func TestStaleGuessIsDecidedAgainOnTheStoredStream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stream   []int
		guess    int64 // the version the store remembers
		add      int
		want     int
		wantErr  error
		wantCall []string
	}{
		{"append on a stale version", []int{2}, 0, 3, 5, nil, []string{"guess", "append", "rollback", "load", "append", "commit"}},
		{"a refusal on a guess is not trusted", []int{95, -90}, 1, 10, 15, nil, []string{"guess", "rollback", "load", "append", "commit"}},
		{"a refusal that holds", []int{95}, 1, 10, 0, errTooBig, []string{"guess", "rollback", "load", "rollback"}},
		{"nothing to do on a guess is not trusted", []int{4}, 0, 0, 4, nil, []string{"guess", "rollback", "load", "commit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, id, obs := newMemStore(), uuid.New(), &recorder{}
			s.streams[id], s.remembered[id] = tc.stream, tc.guess // written by someone this store did not see
			h := newCounterHandler(s, 1, obs)
			res, err := h.Handle(system(), add(id, tc.add, CommandOptions{}))
			if !errors.Is(err, tc.wantErr) || err == nil && res.View.State != tc.want {
				t.Fatalf("%+v %v, want %d %v", res, err, tc.want, tc.wantErr)
			}
			wantCalls(t, s, tc.wantCall...)
			if len(obs.attempts) != 2 || len(obs.finished) != 1 || obs.finished[0][len(obs.finished[0])-1] != '2' {
				t.Fatalf("observed %v %v: want two attempts, one command", obs.attempts, obs.finished)
			}
		})
	}
}

func TestIfMatchMismatchIsAnsweredAtOnce(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5, nil)
	if _, err := h.Handle(system(), add(id, 3, CommandOptions{})); err != nil {
		t.Fatal(err)
	}
	s.calls = nil
	_, err := h.Handle(system(), add(id, 1, CommandOptions{ExpectedVersions: []int64{4, 7}}))
	var conflict *VersionConflictError
	if !errors.As(err, &conflict) || conflict.Retried || conflict.Actual != 1 || conflict.Expected != 4 || conflict.Resource != "counter" || conflict.ID != id {
		t.Fatalf("err = %v (%+v), want a version conflict at version 1, not retried", err, conflict)
	}
	wantCalls(t, s, "guess", "rollback", "load", "rollback")
	res, err := h.Handle(system(), add(id, 1, CommandOptions{ExpectedVersions: []int64{4, 1}}))
	if err != nil || res.View.Version != 2 || res.View.State != 4 {
		t.Fatalf("a list that names the current version: %+v %v", res, err)
	}
	wantCalls(t, s, "guess", "append", "commit")
}

// After a lost race the retry locks the stream before it reads, with and without an
// observer (production always has one).
func TestLostRaceIsRetriedAndTheRetryLocksFirst(t *testing.T) {
	for _, obs := range []CommandObserver{nil, &recorder{}} {
		s, id := newMemStore(), uuid.New()
		s.streams[id] = []int{3}
		s.loseRaces = 2 // the guess's check and the read attempt's append
		h := newCounterHandler(s, 5, obs)
		res, err := h.Handle(system(), add(id, 5, CommandOptions{}))
		if err != nil || res.View.State != 10 || res.View.Version != 4 {
			t.Fatalf("%+v %v: decided on the other writers' state?", res, err)
		}
		wantCalls(t, s, "guess", "append", "rollback", "load", "append", "rollback", "lock", "load", "append", "commit")
		if r, ok := obs.(*recorder); ok && !slices.Equal(r.attempts, []string{"1:unverified", "2:conflict", "3:ok"}) {
			t.Fatalf("observed %v", r.attempts)
		}
	}
}

func TestGivesUpAfterMaxLostRaces(t *testing.T) {
	s, id, obs := newMemStore(), uuid.New(), &recorder{}
	s.loseRaces = 100
	h := newCounterHandler(s, 3, obs)
	_, err := h.Handle(system(), add(id, 1, CommandOptions{}))
	var conflict *VersionConflictError
	if !errors.As(err, &conflict) || !conflict.Retried {
		t.Fatalf("err = %v, want a retried version conflict", err)
	}
	if n, locks := countOf(s.calls, "append"), countOf(s.calls, "lock"); n != 4 || locks != 2 {
		t.Fatalf("%d appends and %d locks, want the guess and 3 lost races, 2 of them locked", n, locks)
	}
	if !slices.Equal(obs.finished, []string{"conflict/4"}) {
		t.Fatalf("observed %v", obs.finished)
	}
}

func TestRetryWaitEndsWithTheContext(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	s.loseRaces = 100
	h := NewCommandHandler("counter", s, counter, RunnerConfig{Retry: RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}})
	ctx, cancel := context.WithTimeout(system(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Handle(ctx, add(id, 1, CommandOptions{})); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
}

func TestIdempotentRepeatReplaysTheKeptOutcome(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5, nil)
	first, err := h.Handle(system(), add(id, 7, keyed("k1", "a")))
	if err != nil || first.Replayed || first.View.State != 7 {
		t.Fatalf("first: %+v %v", first, err)
	}
	if _, err := h.Handle(system(), add(id, 2, CommandOptions{})); err != nil { // the stream moves on
		t.Fatal(err)
	}
	s.calls = nil
	again, err := h.Handle(system(), add(id, 7, keyed("k1", "a")))
	if err != nil || !again.Replayed || again.View != first.View {
		t.Fatalf("repeat: %+v %v, want the first outcome %+v", again, err, first.View)
	}
	wantCalls(t, s, "loadVersion", "commit")
	if got := s.streams[id]; !slices.Equal(got, []int{7, 2}) {
		t.Fatalf("the repeat appended again: %v", got)
	}
	if _, err := h.Handle(system(), add(id, 8, keyed("k1", "b"))); !errors.Is(err, ErrIdempotencyKeyReused) {
		t.Fatalf("another request under the same key: %v", err)
	}
	other := WithPrincipal(context.Background(), Principal{Subject: "someone-else"})
	if res, err := h.Handle(other, add(id, 1, keyed("k1", "b"))); err != nil || res.Replayed {
		t.Fatalf("another principal's equal key: %+v %v, want its own execution", res, err)
	}
}

// A create whose id the server chooses makes a new id on every request: its repeat is
// answered from the first request's stream.
func TestRepeatOfACreateAnswersTheFirstStream(t *testing.T) {
	s := newMemStore()
	h := newCounterHandler(s, 5, nil)
	first, err := h.Handle(system(), add(uuid.New(), 7, keyed("create", "f")))
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.Handle(system(), add(uuid.New(), 7, keyed("create", "f")))
	if err != nil || !again.Replayed || again.View != first.View || again.View.State != 7 {
		t.Fatalf("repeat with another id: %+v %v, want the first stream %+v", again, err, first.View)
	}
	written := 0
	for _, events := range s.streams {
		written += len(events)
	}
	if written != 1 {
		t.Fatalf("%d events written, want the first request's only", written)
	}
}

func TestKeptRefusalsAreAnsweredAgain(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5, nil)
	if _, err := h.Handle(system(), add(id, 50, CommandOptions{})); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		cmd  Command[int, int]
		kind string
	}{
		{"too-big", add(id, 500, keyed("too-big", "f")), failedConflict},
		{"if-match", add(id, 1, CommandOptions{ExpectedVersions: []int64{9}, Idempotency: &Idempotency{Key: "if-match", Fingerprint: "f"}}), failedPrecondition},
		{"forbidden", Command[int, int]{Name: "Add", ID: id, Options: keyed("forbidden", "f"), Build: func(time.Time) int { return 1 },
			Authorize: func(context.Context, Versioned[int]) error { return ErrForbidden }}, failedForbidden},
	} {
		_, first := h.Handle(system(), tc.cmd)
		if first == nil {
			t.Fatalf("%s: no refusal", tc.key)
		}
		kept := s.keys[IdempotencyKey{Scope: System().Subject, Key: tc.key}].Outcome
		if kept.Failure == nil || kept.Failure.Kind != tc.kind {
			t.Fatalf("%s: kept %+v, want a %s failure", tc.key, kept, tc.kind)
		}
		res, again := h.Handle(system(), tc.cmd)
		if !res.Replayed || again == nil || again.Error() != first.Error() {
			t.Fatalf("%s: repeat %+v %v, want the first refusal %v again", tc.key, res, again, first)
		}
	}
	if got := s.streams[id]; !slices.Equal(got, []int{50}) {
		t.Fatalf("a refusal appended: %v", got)
	}
}

func TestOutcomeNotWorthKeepingReleasesTheKey(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	h := newCounterHandler(s, 5, nil)
	if _, err := h.Handle(system(), add(id, -1, keyed("k3", "f"))); !errors.Is(err, errBroken) {
		t.Fatalf("err = %v", err)
	}
	if _, kept := s.keys[IdempotencyKey{Scope: System().Subject, Key: "k3"}]; kept {
		t.Fatal("an error a retry could change was kept")
	}
}

func TestNoEventsMeansNoAppendAndNoNotify(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	notified := 0
	h := NewCommandHandler("counter", s, counter, RunnerConfig{AfterCommit: func() { notified++ }})
	res, err := h.Handle(system(), add(id, 0, CommandOptions{}))
	if err != nil || res.View.Version != 0 || countOf(s.calls, "append") != 0 || notified != 0 {
		t.Fatalf("a command already satisfied: %+v %v %v, %d notifications", res, err, s.calls, notified)
	}
	if _, err := h.Handle(system(), add(id, 2, CommandOptions{})); err != nil || notified != 1 {
		t.Fatalf("%v, %d notifications after an append, want 1", err, notified)
	}
	if _, err := h.Handle(system(), add(id, 200, CommandOptions{})); err == nil || notified != 1 {
		t.Fatalf("%v, %d notifications after a refusal, want still 1", err, notified)
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
// nothing is kept under its key for the lost attempt: keeping the conflict once made
// the retry and every repeat of the request replay it.
func TestLostRaceOfAKeyedCommandIsRetriedNotKept(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	s.streams[id] = []int{3}
	s.remembered[id] = 1
	s.loseRaces = 1
	h := newCounterHandler(s, 5, nil)
	res, err := h.Handle(system(), add(id, 5, keyed("k4", "f")))
	if err != nil || res.Replayed || res.View.State != 9 {
		t.Fatalf("the keyed command: %+v %v, want it retried to success", res, err)
	}
	again, err := h.Handle(system(), add(id, 5, keyed("k4", "f")))
	if err != nil || !again.Replayed || again.View.State != 9 || again.View.Version != 3 {
		t.Fatalf("a repeat: %+v %v, want the kept success", again, err)
	}
}

// Every kind of kept failure comes back as an error equal to the first.
func TestFailuresRoundTrip(t *testing.T) {
	id := uuid.New()
	for _, err := range []error{
		&kit.ValidationError{Fields: []kit.FieldError{{Field: "sku", Message: "is empty"}}},
		&kit.ConflictError{Resource: "order", Code: "order_not_pending", Message: "no", Exists: true},
		kit.NotFound("order"),
		ErrForbidden,
		&VersionConflictError{Resource: "order", ID: id, Expected: 3, Actual: 5},
	} {
		f, keep := failureOf(err)
		if !keep {
			t.Fatalf("%v not kept", err)
		}
		back := f.err(id)
		if back.Error() != err.Error() || fmt.Sprintf("%T", back) != fmt.Sprintf("%T", err) {
			t.Fatalf("%v came back as %v", err, back)
		}
	}
	for _, err := range []error{errBroken, ErrUnavailable, context.DeadlineExceeded} {
		if _, keep := failureOf(err); keep {
			t.Fatalf("%v kept", err)
		}
	}
}
