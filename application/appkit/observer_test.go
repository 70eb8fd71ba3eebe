package appkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// recordingObserver writes down what the handler tells it.
type recordingObserver struct{ log []string }

func (o *recordingObserver) AttemptStarted(ctx context.Context, command, resource string, _ uuid.UUID, attempt int) (context.Context, func(string)) {
	o.log = append(o.log, fmt.Sprintf("start %s %s %d", command, resource, attempt))
	return ctx, func(outcome string) { o.log = append(o.log, "attempt "+outcome) }
}

func (o *recordingObserver) CommandFinished(command, outcome string, attempts int) {
	o.log = append(o.log, fmt.Sprintf("finished %s %s %d", command, outcome, attempts))
}

func TestObserverSeesAttemptsAndOutcomes(t *testing.T) {
	s, id := newMemStore(), uuid.New()
	obs := &recordingObserver{}
	h := NewCommandHandler("counter", s, counter, RunnerConfig{Retry: RetryPolicy{MaxAttempts: 3}, Observer: JoinObservers(nil, obs)})

	ctx := AsSystem(context.Background()) // access fails closed: a command needs a principal
	s.loseRaces = 1
	if _, err := h.Handle(ctx, add(id, 5, CommandOptions{})); err != nil {
		t.Fatal(err)
	}
	_, _ = h.Handle(ctx, add(id, 200, CommandOptions{}))                           // rejected
	_, _ = h.Handle(ctx, add(id, 1, CommandOptions{ExpectedVersions: []int64{9}})) // If-Match
	s.loseRaces = 100
	_, _ = h.Handle(ctx, add(id, 1, CommandOptions{})) // gives up

	want := []string{
		"start Add counter 1", "attempt unverified", "start Add counter 2", "attempt ok", "finished Add ok 2",
		"start Add counter 1", "attempt unverified", "start Add counter 2", "attempt rejected", "finished Add rejected 2",
		"start Add counter 1", "attempt unverified", "start Add counter 2", "attempt conflict", "finished Add conflict 2",
		"start Add counter 1", "attempt unverified", "start Add counter 2", "attempt conflict", "start Add counter 3", "attempt conflict",
		"start Add counter 4", "attempt conflict", "finished Add conflict 4",
	}
	if !slices.Equal(obs.log, want) {
		t.Fatalf("observer saw\n%q\nwant\n%q", obs.log, want)
	}
}

func TestJoinObserversOfNothingIsNil(t *testing.T) {
	if JoinObservers(nil, nil) != nil {
		t.Fatal("want nil")
	}
}

// namedObserver logs what it is told under its name, marks the attempt's context with
// its name and notes whose marks it was given.
type namedObserver struct {
	name string
	log  *[]string
}

type observerMark string

func (o namedObserver) AttemptStarted(ctx context.Context, command, resource string, id uuid.UUID, attempt int) (context.Context, func(string)) {
	var saw []string
	for _, n := range []string{"a", "b", "c"} {
		if ctx.Value(observerMark(n)) != nil {
			saw = append(saw, n)
		}
	}
	*o.log = append(*o.log, fmt.Sprintf("%s start %s %s %s %d, given %v", o.name, command, resource, id, attempt, saw))
	return context.WithValue(ctx, observerMark(o.name), true), func(outcome string) {
		*o.log = append(*o.log, o.name+" attempt "+outcome)
	}
}

func (o namedObserver) CommandFinished(command, outcome string, attempts int) {
	*o.log = append(*o.log, fmt.Sprintf("%s finished %s %s %d", o.name, command, outcome, attempts))
}

// Joined observers are each told everything, in the order given: each attempt's
// context passes through all of them (a span started by one is the parent of the
// next's), and the attempt ends in the reverse order, innermost first.
func TestJoinedObserversTellEachInTurn(t *testing.T) {
	var log []string
	joined := JoinObservers(namedObserver{"a", &log}, nil, namedObserver{"b", &log}, namedObserver{"c", &log})
	id := uuid.MustParse("00000000-0000-0000-0000-00000000000a")

	ctx, done := joined.AttemptStarted(context.Background(), "Add", "counter", id, 2)
	for _, n := range []string{"a", "b", "c"} {
		if ctx.Value(observerMark(n)) == nil {
			t.Errorf("the attempt's context lacks what observer %s put into it", n)
		}
	}
	done("conflict")
	joined.CommandFinished("Add", "ok", 3)

	want := []string{
		"a start Add counter " + id.String() + " 2, given []",
		"b start Add counter " + id.String() + " 2, given [a]",
		"c start Add counter " + id.String() + " 2, given [a b]",
		"c attempt conflict", "b attempt conflict", "a attempt conflict",
		"a finished Add ok 3", "b finished Add ok 3", "c finished Add ok 3",
	}
	if !slices.Equal(log, want) {
		t.Fatalf("observers saw\n%q\nwant\n%q", log, want)
	}
}

// One observer is used as it is, not wrapped.
func TestJoinObserversOfOneIsThatOne(t *testing.T) {
	var log []string
	one := namedObserver{"a", &log}
	if got := JoinObservers(nil, one, nil); got != CommandObserver(one) {
		t.Fatalf("JoinObservers(nil, o, nil) = %#v, want o itself", got)
	}
}

func TestOutcome(t *testing.T) {
	other := errors.New("connection reset")
	for _, c := range []struct {
		replayed bool
		err      error
		want     string
	}{
		{false, nil, OutcomeOK},
		{true, nil, OutcomeReplayed},
		{true, other, OutcomeError}, // an error is never a replay
		{false, fmt.Errorf("attempt: %w", ErrUnverified), OutcomeUnverified},
		{false, fmt.Errorf("add: %w", &VersionConflictError{Resource: "counter"}), OutcomeConflict},
		{false, &kit.ValidationError{Fields: []kit.FieldError{{Field: "n", Message: "too big"}}}, OutcomeRejected},
		{false, &kit.ConflictError{Resource: "counter", Code: "c", Message: "m"}, OutcomeRejected},
		{false, kit.NotFound("counter"), OutcomeRejected},
		{false, ErrIdempotencyKeyReused, OutcomeRejected},
		{false, other, OutcomeError},
		{false, ErrUnavailable, OutcomeError},
	} {
		if got := Outcome(c.replayed, c.err); got != c.want {
			t.Errorf("Outcome(%v, %v) = %q, want %q", c.replayed, c.err, got, c.want)
		}
	}
}
