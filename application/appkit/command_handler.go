package appkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// CommandOptions are what a caller may add to any command.
type CommandOptions struct {
	// ExpectedVersions, when not nil, runs the command only if the stream is at one of
	// these versions (HTTP If-Match): a mismatch returns a *VersionConflictError at once,
	// with no retry.
	ExpectedVersions []int64
	// Idempotency, when set, runs the command at most once per key.
	Idempotency *Idempotency
}

// Idempotency makes a command safe to repeat. The first request with Key runs and its
// outcome is kept with its events; a repeat with the same Fingerprint gets that outcome
// back (Replayed), and one with another Fingerprint gets ErrIdempotencyKeyReused.
type Idempotency struct {
	Key         string
	Fingerprint string
}

// CommandResult is a command's outcome: the aggregate after it. Replayed says that an
// idempotent repeat was answered from the first request's kept outcome, without
// running the command again.
type CommandResult[S any] struct {
	View     Versioned[S]
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
	// AfterCommit, when set, runs after every command that appended events has
	// committed: the composition root wakes the consumers with it (a NOTIFY).
	AfterCommit func()
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
	store    EventStore[S, E]
	decider  kit.Decider[C, E, S]
	cfg      RunnerConfig
	// staffOnly refuses every caller but staff before anything is read (Definition).
	staffOnly bool
}

// NewCommandHandler returns a handler that decides with decider and writes through
// store. resource names the aggregate in errors ("order").
func NewCommandHandler[C, E, S any](resource string, store EventStore[S, E], decider kit.Decider[C, E, S], cfg RunnerConfig) *CommandHandler[C, E, S] {
	return &CommandHandler[C, E, S]{resource: resource, store: store, decider: decider, cfg: cfg.withDefaults()}
}

// Command is one command as the handler runs it: a name for metadata and errors, the
// stream it is aimed at, the caller's options, and the domain command, built with the
// time the attempt runs at.
type Command[C, S any] struct {
	Name    string
	ID      uuid.UUID
	Options CommandOptions
	Build   func(at time.Time) C
	// Authorize, when set, runs in the transaction right after the stream is loaded,
	// before anything else looks at it (If-Match included), and may refuse the caller:
	// return the aggregate's not-found error for a stream the caller may not see, or
	// ErrForbidden for one it may see but not change. See principal.go.
	Authorize func(ctx context.Context, current Versioned[S]) error
}

// Run handles the command name on stream id, built by build, with no Authorize of its
// own: what most commands are.
func (h *CommandHandler[C, E, S]) Run(ctx context.Context, name string, id uuid.UUID, opts CommandOptions, build func(at time.Time) C) (CommandResult[S], error) {
	return h.Handle(ctx, Command[C, S]{Name: name, ID: id, Options: opts, Build: build})
}

// Handle is the write loop: every attempt of every command, in one place.
//
//   - The first attempt is Optimistic: in the common case (a cached or a new stream)
//     it decides without reading and sends append, read models, kept outcome and
//     COMMIT in one round trip.
//   - If that guess did not hold (ErrUnverified: nothing was written), it runs again
//     at once, reading the stream.
//   - A lost race (a *VersionConflictError without If-Match) is retried after a
//     jittered backoff, locking the stream first, so it cannot be lost again; after
//     Retry.MaxAttempts lost races the conflict is the answer. With If-Match the
//     conflict is the answer at once.
func (h *CommandHandler[C, E, S]) Handle(ctx context.Context, c Command[C, S]) (CommandResult[S], error) {
	caller, err := Caller(ctx)
	if err != nil {
		return CommandResult[S]{}, fmt.Errorf("%s: %w", c.Name, err)
	}
	if h.staffOnly && !caller.IsStaff() {
		return CommandResult[S]{}, fmt.Errorf("%s: %w", c.Name, ErrForbidden)
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
	mode, lost := Optimistic, 0
	for attempt := 1; ; attempt++ {
		res, err := h.observedAttempt(ctx, c, md, scope, mode, attempt)
		var conflict *VersionConflictError
		switch {
		case errors.Is(err, ErrUnverified):
			mode = Read
			continue
		case !errors.As(err, &conflict) || c.Options.ExpectedVersions != nil:
			h.finished(c.Name, Outcome(res.Replayed, err), attempt)
			return res, err
		}
		if lost++; lost >= h.cfg.Retry.MaxAttempts {
			conflict.Retried = true
			h.finished(c.Name, OutcomeConflict, attempt)
			return res, fmt.Errorf("%s: gave up after %d attempts: %w", c.Name, attempt, err)
		}
		if err := h.cfg.Retry.backoff(ctx, lost-1); err != nil {
			h.finished(c.Name, OutcomeError, attempt)
			return CommandResult[S]{}, fmt.Errorf("%s: waiting to retry: %w", c.Name, err)
		}
		mode = Lock
	}
}

func (h *CommandHandler[C, E, S]) observedAttempt(ctx context.Context, c Command[C, S], md Metadata, scope string, mode Mode, attempt int) (CommandResult[S], error) {
	if h.cfg.Observer == nil {
		return h.attempt(ctx, c, md, scope, mode)
	}
	actx, done := h.cfg.Observer.AttemptStarted(ctx, c.Name, h.resource, c.ID, attempt)
	res, err := h.attempt(actx, c, md, scope, mode)
	done(Outcome(res.Replayed, err))
	return res, err
}

func (h *CommandHandler[C, E, S]) finished(command, outcome string, attempts int) {
	if h.cfg.Observer != nil {
		h.cfg.Observer.CommandFinished(command, outcome, attempts)
	}
}

// attempt is one transaction: claim the idempotency key (or replay what it kept),
// load, decide, append (with the inline projections), keep the outcome, commit.
func (h *CommandHandler[C, E, S]) attempt(ctx context.Context, c Command[C, S], md Metadata, scope string, mode Mode) (CommandResult[S], error) {
	// PostgreSQL keeps microseconds; events carry the same time as the read model so
	// that folding the events gives exactly what the read model shows.
	at := h.cfg.Now().UTC().Truncate(time.Microsecond)
	var replay *KeptOutcome
	var refused error // a refusal kept under the key: committed, then returned
	var appended bool
	view, err := h.store.Attempt(ctx, c.ID, mode, func(ctx context.Context, tx StreamTx[S, E]) error {
		replay, refused, appended = nil, nil, false
		idem := c.Options.Idempotency
		if idem == nil {
			var err error
			_, appended, err = h.decideAndAppend(ctx, tx, c, md, at)
			return err
		}
		key := IdempotencyKey{Scope: scope, Key: idem.Key}
		rec, err := tx.ClaimIdempotencyKey(ctx, key, idem.Fingerprint, h.cfg.IdempotencyRetention)
		switch {
		case err != nil:
			return err
		case !rec.Claimed && rec.Fingerprint != idem.Fingerprint:
			return ErrIdempotencyKeyReused
		case !rec.Claimed:
			replay = &rec.Outcome
			if replay.ID == uuid.Nil {
				replay.ID = c.ID // kept by a release that did not record it
			}
			if rec.Outcome.Failure != nil {
				return nil
			}
			_, err := tx.LoadVersion(ctx, rec.Outcome.ID, rec.Outcome.Version)
			return err
		}
		version, added, err := h.decideAndAppend(ctx, tx, c, md, at)
		appended = added
		outcome := KeptOutcome{ID: c.ID, Version: version}
		if err != nil {
			var lostRace *VersionConflictError
			failure, keep := failureOf(err)
			if !keep || errors.As(err, &lostRace) && c.Options.ExpectedVersions == nil {
				// Worth retrying (a lost race without If-Match is retried by Handle):
				// rolling back releases the key for the retry.
				return err
			}
			outcome, refused = KeptOutcome{ID: c.ID, Failure: failure}, err
		}
		return tx.KeepOutcome(ctx, key, outcome)
	})
	if err != nil {
		return CommandResult[S]{}, fmt.Errorf("%s %s: %w", c.Name, c.ID, err)
	}
	if appended && h.cfg.AfterCommit != nil {
		h.cfg.AfterCommit()
	}
	if replay != nil && replay.Failure != nil {
		refused = replay.Failure.err(replay.ID)
	}
	if refused != nil {
		return CommandResult[S]{Replayed: replay != nil}, fmt.Errorf("%s %s: %w", c.Name, c.ID, refused)
	}
	return CommandResult[S]{View: view, Replayed: replay != nil}, nil
}

// decideAndAppend loads the stream, lets the caller and the decider judge the command,
// and appends what the decider decided. It returns the stream's version afterwards and
// whether it appended anything.
func (h *CommandHandler[C, E, S]) decideAndAppend(ctx context.Context, tx StreamTx[S, E], c Command[C, S], md Metadata, at time.Time) (version int64, appended bool, err error) {
	current, err := tx.Load(ctx)
	if err != nil {
		return 0, false, err
	}
	if c.Authorize != nil {
		if err := c.Authorize(ctx, current); err != nil {
			return 0, false, err
		}
	}
	if want := c.Options.ExpectedVersions; want != nil && !slices.Contains(want, current.Version) {
		conflict := &VersionConflictError{Resource: h.resource, ID: c.ID, Actual: current.Version}
		if len(want) > 0 {
			conflict.Expected = want[0]
		}
		return 0, false, conflict
	}
	events, err := h.decider.Decide(current.State, c.Build(at))
	if err != nil {
		return 0, false, err
	}
	if len(events) == 0 {
		return current.Version, false, nil
	}
	if err := tx.Append(ctx, current.Version, events, md, at); err != nil {
		return 0, false, err
	}
	return current.Version + int64(len(events)), true, nil
}
