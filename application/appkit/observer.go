package appkit

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// CommandObserver watches the command handler: infrastructure implements it with
// metrics and traces, so that this package depends on neither. A nil observer in
// RunnerConfig costs nothing.
type CommandObserver interface {
	// AttemptStarted is called before each attempt (one transaction) of a command on
	// the aggregate resource with this id; attempt counts from 1. The returned context
	// is used for the attempt (a span travels in it), and done is called once with the
	// attempt's outcome.
	AttemptStarted(ctx context.Context, command, resource string, id uuid.UUID, attempt int) (_ context.Context, done func(outcome string))
	// CommandFinished is called once per command with its final outcome and the number
	// of attempts it took.
	CommandFinished(command, outcome string, attempts int)
}

// The outcomes a CommandObserver is told about.
const (
	OutcomeOK       = "ok"       // the command ran (events appended, or none needed)
	OutcomeRejected = "rejected" // the decider or the request refused it (4xx)
	OutcomeConflict = "conflict" // a concurrency conflict: lost a race, or If-Match failed
	OutcomeReplayed = "replayed" // an idempotent repeat answered from the kept outcome
	// OutcomeUnverified ends an Optimistic attempt whose unread state did not hold or
	// could not be checked; the command runs again, reading (not an error, no race lost).
	OutcomeUnverified = "unverified"
	OutcomeError      = "error" // anything else: the database, a timeout, a bug
)

// Outcome classifies a command's result and error into one of the Outcome constants.
func Outcome(replayed bool, err error) string {
	var validation *kit.ValidationError
	var conflict *kit.ConflictError
	switch {
	case err == nil && replayed:
		return OutcomeReplayed
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrUnverified):
		return OutcomeUnverified
	case errors.Is(err, ErrVersionConflict):
		return OutcomeConflict
	case errors.As(err, &validation), errors.As(err, &conflict), errors.Is(err, kit.ErrNotFound), errors.Is(err, ErrIdempotencyKeyReused):
		return OutcomeRejected
	default:
		return OutcomeError
	}
}

// JoinObservers returns one observer that tells each of obs (nils skipped), or nil
// when there is none.
func JoinObservers(obs ...CommandObserver) CommandObserver {
	var list joinedObservers
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return list
}

type joinedObservers []CommandObserver

func (j joinedObservers) AttemptStarted(ctx context.Context, command, resource string, id uuid.UUID, attempt int) (context.Context, func(string)) {
	dones := make([]func(string), len(j))
	for i, o := range j {
		ctx, dones[i] = o.AttemptStarted(ctx, command, resource, id, attempt)
	}
	return ctx, func(outcome string) {
		for i := len(dones) - 1; i >= 0; i-- {
			dones[i](outcome)
		}
	}
}

func (j joinedObservers) CommandFinished(command, outcome string, attempts int) {
	for _, o := range j {
		o.CommandFinished(command, outcome, attempts)
	}
}
