package application

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
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
