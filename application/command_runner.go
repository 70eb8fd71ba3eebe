package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// CommandOptions are what a caller may add to any order command.
type CommandOptions struct {
	// ExpectedVersion, when set, runs the command against exactly that version of the
	// order (HTTP If-Match): a mismatch returns a *VersionConflictError at once, with no
	// retry.
	ExpectedVersion *int64
	// Idempotency, when set, runs the command at most once per key.
	Idempotency *Idempotency
}

// Idempotency makes a command safe to repeat. The first request with Key runs and its
// response is stored with the events; a repeat with the same Fingerprint gets that
// response back, and one with another Fingerprint gets ErrIdempotencyKeyReused.
type Idempotency struct {
	Key         string
	Fingerprint string
	// Render turns the command's outcome into the response to store, inside the
	// command's transaction. keep=false stores nothing (for outcomes worth retrying).
	Render func(result OrderView, err error) (response StoredResponse, keep bool)
}

// CommandResult is a command's outcome: the order after it. With an idempotency key,
// Response is the stored response, to be sent as it is (whether this request ran the
// command or Replayed it), so that every repeat gets the same bytes.
type CommandResult struct {
	Order    OrderView
	Response *StoredResponse
	Replayed bool
}

// RunnerConfig tunes the CommandRunner. Zero fields take defaults.
type RunnerConfig struct {
	Retry                RetryPolicy
	Now                  func() time.Time
	IdempotencyRetention time.Duration
}

// CommandRunner runs the read-decide-append cycle that every order command shares.
type CommandRunner struct {
	tx        OrderTransactor
	retry     RetryPolicy
	now       func() time.Time
	retention time.Duration
}

// NewCommandRunner returns a runner that writes through tx.
func NewCommandRunner(tx OrderTransactor, cfg RunnerConfig) *CommandRunner {
	if cfg.Retry.MaxAttempts <= 0 {
		cfg.Retry = DefaultRetryPolicy()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdempotencyRetention <= 0 {
		cfg.IdempotencyRetention = 24 * time.Hour
	}
	return &CommandRunner{tx: tx, retry: cfg.Retry, now: cfg.Now, retention: cfg.IdempotencyRetention}
}

// orderCommand is one command, reduced to what the cycle needs.
type orderCommand struct {
	name    string
	orderID uuid.UUID
	opts    CommandOptions
	decide  func(s order.State, at time.Time) ([]order.Event, error)
}

// run retries the whole cycle after losing a race, with jittered backoff, unless the
// caller named the version: then the conflict is the answer.
func (r *CommandRunner) run(ctx context.Context, c orderCommand) (CommandResult, error) {
	md := MetadataFrom(ctx)
	md.Command = c.name
	for attempt := 1; ; attempt++ {
		res, err := r.attempt(ctx, c, md, attempt > 1)
		var conflict *VersionConflictError
		if !errors.As(err, &conflict) || c.opts.ExpectedVersion != nil {
			return res, err
		}
		if attempt >= r.retry.MaxAttempts {
			conflict.Retried = true
			return res, fmt.Errorf("%s: gave up after %d attempts: %w", c.name, attempt, err)
		}
		if err := r.retry.backoff(ctx, attempt-1); err != nil {
			return CommandResult{}, fmt.Errorf("%s: waiting to retry: %w", c.name, err)
		}
	}
}

// attempt is one transaction: claim the idempotency key, load, decide, append, project,
// store the response, commit. The first attempt is optimistic; a retry locks the order
// before reading it, so under contention a command loses at most one race instead of
// retrying until it runs out of attempts.
func (r *CommandRunner) attempt(ctx context.Context, c orderCommand, md Metadata, lock bool) (CommandResult, error) {
	// PostgreSQL keeps microseconds; events carry the same time as the read model so
	// that folding the events gives exactly what the read model shows.
	at := r.now().UTC().Truncate(time.Microsecond)
	var res CommandResult
	var cmdErr error
	err := r.tx.WithinOrderTx(ctx, func(ctx context.Context, tx OrderTx) error {
		idem := c.opts.Idempotency
		if idem != nil {
			rec, err := tx.ClaimIdempotencyKey(ctx, idem.Key, idem.Fingerprint, r.retention)
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
			if err := tx.LockOrder(ctx, c.orderID); err != nil {
				return err
			}
		}
		view, err := r.decideAndAppend(ctx, tx, c, md, at)
		res.Order = view
		if idem == nil {
			return err
		}
		response, keep := idem.Render(view, err)
		if !keep && err != nil {
			return err
		}
		// A rejected command is answered the same way on every repeat, so its response
		// is committed too; there are no events to go with it.
		if saveErr := tx.SaveIdempotentResponse(ctx, idem.Key, response); saveErr != nil {
			return errors.Join(err, saveErr)
		}
		res.Response, cmdErr = &response, err
		return nil
	})
	if err != nil {
		return CommandResult{}, fmt.Errorf("%s %s: %w", c.name, c.orderID, err)
	}
	if cmdErr != nil {
		return res, fmt.Errorf("%s %s: %w", c.name, c.orderID, cmdErr)
	}
	return res, nil
}

func (r *CommandRunner) decideAndAppend(ctx context.Context, tx OrderTx, c orderCommand, md Metadata, at time.Time) (OrderView, error) {
	current, err := tx.LoadOrder(ctx, c.orderID)
	if err != nil {
		return OrderView{}, err
	}
	if want := c.opts.ExpectedVersion; want != nil && *want != current.Version {
		return current, &VersionConflictError{OrderID: c.orderID, Expected: *want, Actual: current.Version}
	}
	events, err := c.decide(current.State, at)
	if err != nil || len(events) == 0 {
		return current, err
	}
	recorded, err := tx.AppendOrderEvents(ctx, c.orderID, current.Version, events, md, at)
	if err != nil {
		return current, err
	}
	if err := tx.ProjectOrder(ctx, c.orderID, recorded); err != nil {
		return current, err
	}
	return OrderView{State: order.Fold(current.State, events...), Version: recorded[len(recorded)-1].Version}, nil
}
