package application

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// CommandOptions are what a caller may add to any command. S is the aggregate's state.
type CommandOptions[S any] struct {
	// ExpectedVersions, when not nil, runs the command only if the stream is at one of
	// these versions (HTTP If-Match): a mismatch returns a *VersionConflictError at once,
	// with no retry.
	ExpectedVersions []int64
	// Idempotency, when set, runs the command at most once per key.
	Idempotency *Idempotency[S]
}

// Idempotency makes a command safe to repeat. The first request with Key runs and its
// response is stored with the events; a repeat with the same Fingerprint gets that
// response back, and one with another Fingerprint gets ErrIdempotencyKeyReused.
type Idempotency[S any] struct {
	Key         string
	Fingerprint string
	// Render turns the command's outcome into the response to store, inside the
	// command's transaction. keep=false stores nothing (for outcomes worth retrying).
	Render func(result Versioned[S], err error) (response StoredResponse, keep bool)
}

// CommandResult is a command's outcome: the aggregate after it. With an idempotency
// key, Response is the stored response, to be sent as it is (whether this request ran
// the command or Replayed it), so that every repeat gets the same bytes.
type CommandResult[S any] struct {
	View     Versioned[S]
	Response *StoredResponse
	Replayed bool
}

// RunnerConfig tunes every CommandHandler. Zero fields take defaults.
type RunnerConfig struct {
	Retry                RetryPolicy
	Now                  func() time.Time
	IdempotencyRetention time.Duration
	// Observer, when set, is told of every attempt and command (metrics, traces).
	Observer CommandObserver
	// Traceparent, when set, returns the W3C traceparent of the span in ctx
	// (tracing.Traceparent). Every command writes it into its events' metadata unless
	// the caller set one, whoever issued it (a request, a reactor), so that their
	// consumers continue the trace.
	Traceparent func(ctx context.Context) string
}

func (c RunnerConfig) withDefaults() RunnerConfig {
	if c.Retry.MaxAttempts <= 0 {
		c.Retry = DefaultRetryPolicy()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IdempotencyRetention <= 0 {
		c.IdempotencyRetention = 24 * time.Hour
	}
	return c
}

// CommandHandler runs the read-decide-append cycle for one aggregate type: every
// command of every aggregate goes through it. C, E and S are the decider's command,
// event and state types.
type CommandHandler[C, E, S any] struct {
	resource string
	store    Transactor[S, E]
	decider  kit.Decider[C, E, S]
	cfg      RunnerConfig
}

// NewCommandHandler returns a handler that decides with decider and writes through
// store. resource names the aggregate in errors ("order").
func NewCommandHandler[C, E, S any](resource string, store Transactor[S, E], decider kit.Decider[C, E, S], cfg RunnerConfig) *CommandHandler[C, E, S] {
	return &CommandHandler[C, E, S]{resource: resource, store: store, decider: decider, cfg: cfg.withDefaults()}
}

// Command is one command as the handler runs it: a name for metadata and errors, the
// stream it is aimed at, the caller's options, and the domain command, built with the
// time the attempt runs at.
type Command[C, S any] struct {
	Name    string
	ID      uuid.UUID
	Options CommandOptions[S]
	Build   func(at time.Time) C
	// Authorize, when set, runs in the transaction right after the stream is loaded,
	// before anything else looks at it (If-Match included), and may refuse the caller:
	// return the aggregate's not-found error for a stream the caller may not see, or
	// ErrForbidden for one it may see but not change. See principal.go.
	Authorize func(ctx context.Context, current Versioned[S]) error
}

// Handle retries the whole cycle after losing a race, with jittered backoff, unless the
// caller named the version: then the conflict is the answer.
func (h *CommandHandler[C, E, S]) Handle(ctx context.Context, c Command[C, S]) (CommandResult[S], error) {
	caller, err := Caller(ctx)
	if err != nil {
		return CommandResult[S]{}, fmt.Errorf("%s: %w", c.Name, err)
	}
	md := MetadataFrom(ctx)
	md.Command = c.Name
	md.Actor = caller.Subject
	if md.Traceparent == "" && h.cfg.Traceparent != nil {
		md.Traceparent = h.cfg.Traceparent(ctx)
	}
	// Idempotency keys are the caller's own: another principal reusing one gets its
	// own execution, never the first caller's response.
	scope := caller.Subject
	obs := h.cfg.Observer
	for attempt := 1; ; attempt++ {
		var res CommandResult[S]
		var err error
		if obs == nil {
			res, err = h.attempt(ctx, c, md, scope, attempt > 1)
		} else {
			actx, done := obs.AttemptStarted(ctx, c.Name, h.resource, c.ID, attempt)
			res, err = h.attempt(actx, c, md, scope, attempt > 1)
			done(Outcome(res.Replayed, err))
		}
		var conflict *VersionConflictError
		if !errors.As(err, &conflict) || c.Options.ExpectedVersions != nil {
			if obs != nil {
				obs.CommandFinished(c.Name, Outcome(res.Replayed, err), attempt)
			}
			return res, err
		}
		if attempt >= h.cfg.Retry.MaxAttempts {
			conflict.Retried = true
			if obs != nil {
				obs.CommandFinished(c.Name, OutcomeConflict, attempt)
			}
			return res, fmt.Errorf("%s: gave up after %d attempts: %w", c.Name, attempt, err)
		}
		if err := h.cfg.Retry.backoff(ctx, attempt-1); err != nil {
			if obs != nil {
				obs.CommandFinished(c.Name, OutcomeError, attempt)
			}
			return CommandResult[S]{}, fmt.Errorf("%s: waiting to retry: %w", c.Name, err)
		}
	}
}

// attempt is one transaction: claim the idempotency key, load, decide, append (with the
// inline projections), store the response, commit. The first attempt is optimistic; a
// retry locks the stream before reading it, so under contention a command loses at
// most one race instead of retrying until it runs out of attempts.
func (h *CommandHandler[C, E, S]) attempt(ctx context.Context, c Command[C, S], md Metadata, scope string, lock bool) (CommandResult[S], error) {
	// PostgreSQL keeps microseconds; events carry the same time as the read model so
	// that folding the events gives exactly what the read model shows.
	at := h.cfg.Now().UTC().Truncate(time.Microsecond)
	var res CommandResult[S]
	var cmdErr error
	var last StreamTx[S, E]
	err := h.store.WithinTx(ctx, func(ctx context.Context, tx StreamTx[S, E]) error {
		res, cmdErr, last = CommandResult[S]{}, nil, tx // a Transactor may run this more than once
		idem := c.Options.Idempotency
		var key IdempotencyKey
		if idem != nil {
			key = IdempotencyKey{Scope: scope, Key: idem.Key}
			rec, err := tx.ClaimIdempotencyKey(ctx, key, idem.Fingerprint, h.cfg.IdempotencyRetention)
			if err != nil {
				return err
			}
			if !rec.Claimed {
				if rec.Fingerprint != idem.Fingerprint {
					return ErrIdempotencyKeyReused
				}
				res.Response, res.Replayed = &rec.Response, true
				return nil
			}
		}
		if lock {
			if err := tx.Lock(ctx, c.ID); err != nil {
				return err
			}
		}
		view, err := h.decideAndAppend(ctx, tx, c, md, at)
		res.View = view
		var lostRace *VersionConflictError
		if idem == nil || errors.As(err, &lostRace) && c.Options.ExpectedVersions == nil {
			// A lost race without If-Match is retried (Handle), so it is no answer to
			// keep under the key: rolling back releases the key for the retry.
			return err
		}
		response, keep := idem.Render(view, err)
		if !keep && err != nil {
			return err
		}
		// A rejected command is answered the same way on every repeat, so its response
		// is committed too; there are no events to go with it.
		if saveErr := tx.SaveIdempotentResponse(ctx, key, response); saveErr != nil {
			return errors.Join(err, saveErr)
		}
		res.Response, cmdErr = &response, err
		return nil
	})
	if err != nil {
		return CommandResult[S]{}, fmt.Errorf("%s %s: %w", c.Name, c.ID, err)
	}
	if cmdErr != nil {
		return res, fmt.Errorf("%s %s: %w", c.Name, c.ID, cmdErr)
	}
	if p, ok := last.(positionAfterCommit); ok && res.View.Position == 0 {
		res.View.Position, _ = p.CommittedPosition(c.ID)
	}
	return res, nil
}

// positionAfterCommit is what a StreamTx may offer when it learns the global position
// of its appends only with the commit (an append sent with the COMMIT): the position of
// the stream's last event, once committed.
type positionAfterCommit interface {
	CommittedPosition(id uuid.UUID) (int64, bool)
}

// stateAfterAppend is what a StreamTx may offer: the state after its last Append to a
// stream, folded from the state Load returned with the appended events.
type stateAfterAppend[S any] interface {
	StateAfterAppend(id uuid.UUID) (Versioned[S], bool)
}

func (h *CommandHandler[C, E, S]) decideAndAppend(ctx context.Context, tx StreamTx[S, E], c Command[C, S], md Metadata, at time.Time) (Versioned[S], error) {
	current, err := tx.Load(ctx, c.ID)
	if err != nil {
		return Versioned[S]{}, err
	}
	if c.Authorize != nil {
		if err := c.Authorize(ctx, current); err != nil {
			return Versioned[S]{}, err
		}
	}
	if want := c.Options.ExpectedVersions; want != nil && !slices.Contains(want, current.Version) {
		conflict := &VersionConflictError{Resource: h.resource, ID: c.ID, Actual: current.Version}
		if len(want) > 0 {
			conflict.Expected = want[0]
		}
		return current, conflict
	}
	events, err := h.decider.Decide(current.State, c.Build(at))
	if err != nil || len(events) == 0 {
		return current, err
	}
	recorded, err := tx.Append(ctx, c.ID, current.Version, events, md, at)
	if err != nil {
		return current, err
	}
	// A store that folded the events already (for its cache) hands its result over: a
	// fold can cost O(state), e.g. copying an order's lines.
	if w, ok := tx.(stateAfterAppend[S]); ok {
		if v, ok := w.StateAfterAppend(c.ID); ok {
			return v, nil
		}
	}
	last := recorded[len(recorded)-1]
	return Versioned[S]{State: h.decider.Fold(current.State, events...), Version: last.Version, Position: last.Position}, nil
}
