package subscription

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// checkpoint is a consumer's row as the runtime needs it. Position is the last event
// handled in position order: every event at or below it has been handled.
type checkpoint struct {
	Position      int64
	Stopped       bool
	Attempts      int
	ErrorPosition *int64
}

// errNotOwner means another instance took the consumer over: stop working on it.
var errNotOwner = errors.New("subscription: this instance no longer owns the consumer")

// ensureCheckpoint creates the consumer's row, or takes it over, for owner. A row that
// an earlier release wrote carries a cursor in (transaction id, position) order
// (transaction_id set); it becomes the highest position below which that cursor had
// handled everything, and not above the horizon, so that nothing is skipped and what
// is repeated is handled idempotently (reactors by event id, projections by version).
// A transaction that stays open holds the conversion back, as it holds every read.
func ensureCheckpoint(ctx context.Context, db eventstore.DBTX, h *eventstore.Horizon, name, owner string) error {
	var legacy bool
	if err := db.QueryRow(ctx, `INSERT INTO consumer_checkpoints (name, owner) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner
		RETURNING transaction_id <> '0'`, name, owner).Scan(&legacy); err != nil || !legacy {
		return err
	}
	// The cursor says nothing of transactions still running: wait until the horizon has
	// passed every event committed now, and convert up to it at most.
	var horizon int64
	for {
		safe, latest, err := h.Bounds(ctx, db)
		if err != nil {
			return err
		}
		if horizon = safe; safe >= latest {
			break
		}
	}
	_, err := db.Exec(ctx, `UPDATE consumer_checkpoints c SET transaction_id = '0', position = least($2,
		coalesce((SELECT min(e.global_position) - 1 FROM events e WHERE (e.transaction_id, e.global_position) > (c.transaction_id, c.position)),
			(SELECT coalesce(max(e.global_position), 0) FROM events e)))
		WHERE name = $1 AND transaction_id <> '0'`, name, horizon)
	return err
}

func loadCheckpoint(ctx context.Context, db eventstore.DBTX, name string) (checkpoint, error) {
	var c checkpoint
	err := db.QueryRow(ctx, `SELECT position, stopped, attempts, error_position FROM consumer_checkpoints WHERE name = $1`, name).
		Scan(&c.Position, &c.Stopped, &c.Attempts, &c.ErrorPosition)
	return c, err
}

const advanceSQL = `UPDATE consumer_checkpoints
	SET position = $3, updated_at = now(), error = NULL, error_position = NULL, attempts = 0
	WHERE name = $1 AND owner = $2`

func advance(ctx context.Context, db eventstore.DBTX, name, owner string, to int64) error {
	tag, err := db.Exec(ctx, advanceSQL, name, owner, to)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errNotOwner
	}
	return nil
}

// recordFailure counts one more failed attempt at position and stops the consumer
// when it has had maxAttempts. It returns the attempts so far and whether it stopped.
func recordFailure(ctx context.Context, db eventstore.DBTX, name, owner string, position int64, cause error, maxAttempts int) (int, bool, error) {
	var attempts int
	var stopped bool
	err := db.QueryRow(ctx, `UPDATE consumer_checkpoints
		SET attempts = CASE WHEN error_position = $3 THEN attempts + 1 ELSE 1 END,
		    error = $4, error_position = $3, updated_at = now(),
		    stopped = (CASE WHEN error_position = $3 THEN attempts + 1 ELSE 1 END) >= $5
		WHERE name = $1 AND owner = $2
		RETURNING attempts, stopped`, name, owner, position, truncate(cause.Error(), 2000), maxAttempts).Scan(&attempts, &stopped)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, errNotOwner
	}
	return attempts, stopped, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Status is one consumer as an operator sees it.
type Status struct {
	Name          string
	Position      int64   // every event at or below this position has been handled
	LagEvents     int64   // positions in the log after Position (rolled-back gaps count)
	LagSeconds    float64 // age of the oldest event it has not handled; 0 when none
	UpdatedAt     time.Time
	Owner         string
	Error         string
	ErrorPosition int64
	Attempts      int
	Stopped       bool
	Held          bool // some session holds the consumer's lock now (Owner is working on it)
}

// Healthy is false when the consumer is stopped or its last attempt failed.
func (s Status) Healthy() bool { return !s.Stopped && s.Error == "" }

// statusSQL reads every consumer's row with its lag: two index lookups per consumer,
// however long the lag is.
const statusSQL = `SELECT c.name, c.position,
		greatest((SELECT coalesce(max(e.global_position), 0) FROM events e) - c.position, 0),
		coalesce(extract(epoch FROM now() - (SELECT e.recorded_at FROM events e
			WHERE e.global_position > c.position ORDER BY e.global_position LIMIT 1)), 0)::float8,
		c.updated_at, coalesce(c.owner, ''), coalesce(c.error, ''), coalesce(c.error_position, 0), c.attempts, c.stopped,
		EXISTS (SELECT 1 FROM pg_locks l, LATERAL (SELECT hashtextextended('consumer:' || c.name, 0) AS k) h
			WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND l.classid = ((h.k >> 32) & 4294967295)::bigint::text::oid AND l.objid = (h.k & 4294967295)::bigint::text::oid AND l.objsubid = 1)
	FROM consumer_checkpoints c ORDER BY c.name`

// Statuses returns every consumer's checkpoint with its lag, by name.
func Statuses(ctx context.Context, db eventstore.DBTX) ([]Status, error) {
	rows, err := db.Query(ctx, statusSQL)
	if err != nil {
		return nil, fmt.Errorf("subscription: status: %w", err)
	}
	defer rows.Close()
	var out []Status
	for rows.Next() {
		var s Status
		if err := rows.Scan(&s.Name, &s.Position, &s.LagEvents, &s.LagSeconds, &s.UpdatedAt, &s.Owner, &s.Error,
			&s.ErrorPosition, &s.Attempts, &s.Stopped, &s.Held); err != nil {
			return nil, fmt.Errorf("subscription: status: %w", err)
		}
		s.LagSeconds = max(s.LagSeconds, 0)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ErrUnknownConsumer is returned by Reset and Skip for a name with no checkpoint.
var ErrUnknownConsumer = errors.New("unknown consumer")

// Reset moves a consumer's checkpoint to position (it handles the event after it next;
// 0 is the start) and clears its error, so a stopped consumer resumes. Moving a
// projection back re-applies events: the projections here ignore the versions of a
// stream they have applied, but a rebuild from scratch is a version bump (blue/green),
// not a reset.
func Reset(ctx context.Context, db eventstore.DBTX, name string, position int64) error {
	if position < 0 {
		return fmt.Errorf("position must not be negative, got %d", position)
	}
	tag, err := db.Exec(ctx, `UPDATE consumer_checkpoints
		SET position = $2, transaction_id = '0', error = NULL, error_position = NULL, attempts = 0, stopped = false, updated_at = now()
		WHERE name = $1`, name, position)
	if err != nil {
		return fmt.Errorf("subscription: reset %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w %q", ErrUnknownConsumer, name)
	}
	return nil
}

// Skip moves a stopped (or failing) consumer past the event it fails on and returns
// that event's position. A consumer without an error has nothing to skip.
func Skip(ctx context.Context, db eventstore.DBTX, name string) (int64, error) {
	var pos *int64
	err := db.QueryRow(ctx, `UPDATE consumer_checkpoints c
		SET position = coalesce(c.error_position, c.position), error = NULL, error_position = NULL,
		    attempts = 0, stopped = false, updated_at = now()
		FROM consumer_checkpoints old WHERE c.name = $1 AND old.name = c.name
		RETURNING old.error_position`, name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("%w %q", ErrUnknownConsumer, name)
	}
	if err != nil {
		return 0, fmt.Errorf("subscription: skip %s: %w", name, err)
	}
	if pos == nil {
		return 0, fmt.Errorf("consumer %q has no failing event to skip", name)
	}
	return *pos, nil
}
