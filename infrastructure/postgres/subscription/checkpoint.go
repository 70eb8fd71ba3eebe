package subscription

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// key names one partition's checkpoint row: partition P of the set of N of a consumer.
// A consumer that is not partitioned is partition 0 of 1: the row an earlier release
// kept per consumer.
type key struct {
	name string
	n, p int
}

// checkpoint is a partition's row as the runtime needs it. Position is the last event
// handled in position order: every event of the partition at or below it has been
// handled. Epoch is the lease's: it changes when another claim (or an operator's reset
// or skip) takes the partition from the worker that read it.
type checkpoint struct {
	Position      int64
	Stopped       bool
	Attempts      int
	ErrorPosition *int64
	Epoch         int64
	Skip          skip
}

// skip is what a previous set of partitions had handled when N changed: an event at or
// below Positions[hash mod N] is passed over (N 0: none).
type skip struct {
	N         int
	Positions []int64
}

// active reports whether the skip still matters after position.
func (s skip) active(position int64) bool {
	if s.N == 0 {
		return false
	}
	for _, p := range s.Positions {
		if p > position {
			return true
		}
	}
	return false
}

// errNotOwner means another instance took the partition over (or an operator moved
// it): stop working on it.
var errNotOwner = errors.New("subscription: this instance no longer owns the partition")

// convertLegacy turns a row that an earlier release wrote with a cursor in
// (transaction id, position) order (transaction_id set) into the highest position
// below which that cursor had handled everything, and not above the horizon, so that
// nothing is skipped and what is repeated is handled idempotently (reactors by event
// id, projections by version). A transaction that stays open holds the conversion
// back, as it holds every read. Only partition 0 of 1 can be such a row.
func convertLegacy(ctx context.Context, db eventstore.DBTX, h *eventstore.Horizon, k key, epoch int64) error {
	var legacy bool
	if err := db.QueryRow(ctx, `SELECT transaction_id <> '0' FROM consumer_checkpoints
		WHERE name = $1 AND partitions = $2 AND partition = $3 AND epoch = $4`, k.name, k.n, k.p, epoch).Scan(&legacy); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotOwner
		}
		return err
	}
	if !legacy {
		return nil
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
	_, err := db.Exec(ctx, `UPDATE consumer_checkpoints c SET transaction_id = '0', position = least($4,
		coalesce((SELECT min(e.global_position) - 1 FROM events e WHERE (e.transaction_id, e.global_position) > (c.transaction_id, c.position)),
			(SELECT coalesce(max(e.global_position), 0) FROM events e)))
		WHERE name = $1 AND partitions = $2 AND partition = $3 AND epoch = $5 AND transaction_id <> '0'`, k.name, k.n, k.p, horizon, epoch)
	return err
}

func loadCheckpoint(ctx context.Context, db eventstore.DBTX, k key) (checkpoint, error) {
	var c checkpoint
	err := db.QueryRow(ctx, `SELECT position, stopped, attempts, error_position, epoch, skip_partitions, skip_positions
		FROM consumer_checkpoints WHERE name = $1 AND partitions = $2 AND partition = $3`, k.name, k.n, k.p).
		Scan(&c.Position, &c.Stopped, &c.Attempts, &c.ErrorPosition, &c.Epoch, &c.Skip.N, &c.Skip.Positions)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errNotOwner // the set was replaced (N changed)
	}
	return c, err
}

// advanceSQL moves a partition's checkpoint only while the epoch is the one the worker
// claimed it with: the fence. (It does not renew the lease: the coordinator's heartbeat
// does, so that an instance whose heartbeats stop loses its partitions even if a
// worker of it still moves.) A projection runs it first in
// the transaction of its statements, so a worker that lost its lease commits nothing.
const advanceSQL = `UPDATE consumer_checkpoints
	SET position = $5, updated_at = now(), error = NULL, error_position = NULL, attempts = 0
	WHERE name = $1 AND partitions = $2 AND partition = $3 AND epoch = $4`

func advance(ctx context.Context, db eventstore.DBTX, k key, epoch, to int64) error {
	tag, err := db.Exec(ctx, advanceSQL, k.name, k.n, k.p, epoch, to)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errNotOwner
	}
	return nil
}

// recordFailure counts one more failed attempt at position and stops the partition
// when it has had maxAttempts. It returns the attempts so far and whether it stopped.
func recordFailure(ctx context.Context, db eventstore.DBTX, k key, epoch, position int64, cause error, maxAttempts int) (int, bool, error) {
	var attempts int
	var stopped bool
	err := db.QueryRow(ctx, `UPDATE consumer_checkpoints
		SET attempts = CASE WHEN error_position = $5 THEN attempts + 1 ELSE 1 END,
		    error = $6, error_position = $5, updated_at = now(),
		    stopped = (CASE WHEN error_position = $5 THEN attempts + 1 ELSE 1 END) >= $7
		WHERE name = $1 AND partitions = $2 AND partition = $3 AND epoch = $4
		RETURNING attempts, stopped`, k.name, k.n, k.p, epoch, position, truncate(cause.Error(), 2000), maxAttempts).Scan(&attempts, &stopped)
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

// Status is one partition of a consumer as an operator sees it (a consumer that is not
// partitioned is partition 0 of 1).
type Status struct {
	Name          string
	Partition     int
	Partitions    int
	Position      int64   // every event of the partition at or below this position has been handled
	LagEvents     int64   // positions in the log after Position (other partitions' events and rolled-back gaps count)
	LagSeconds    float64 // age of the oldest event after Position; 0 when none
	UpdatedAt     time.Time
	Owner         string
	Error         string
	ErrorPosition int64
	Attempts      int
	Stopped       bool
	Held          bool // an instance holds the partition's lease now (Owner is working on it)
	LeaseUntil    time.Time
	Epoch         int64
}

// Healthy is false when the partition is stopped or its last attempt failed.
func (s Status) Healthy() bool { return !s.Stopped && s.Error == "" }

// statusSQL reads every partition's row with its lag: two index lookups per row,
// however long the lag is.
const statusSQL = `SELECT c.name, c.partition, c.partitions, c.position,
		greatest((SELECT coalesce(max(e.global_position), 0) FROM events e) - c.position, 0),
		coalesce(extract(epoch FROM now() - (SELECT e.recorded_at FROM events e
			WHERE e.global_position > c.position ORDER BY e.global_position LIMIT 1)), 0)::float8,
		c.updated_at, coalesce(c.owner, ''), coalesce(c.error, ''), coalesce(c.error_position, 0), c.attempts, c.stopped,
		c.owner IS NOT NULL AND coalesce(c.lease_until > now(), false), coalesce(c.lease_until, 'epoch'), c.epoch
	FROM consumer_checkpoints c ORDER BY c.name, c.partition`

// Statuses returns every consumer's partitions with their lag, by name and partition.
func Statuses(ctx context.Context, db eventstore.DBTX) ([]Status, error) {
	rows, err := db.Query(ctx, statusSQL)
	if err != nil {
		return nil, fmt.Errorf("subscription: status: %w", err)
	}
	defer rows.Close()
	var out []Status
	for rows.Next() {
		var s Status
		if err := rows.Scan(&s.Name, &s.Partition, &s.Partitions, &s.Position, &s.LagEvents, &s.LagSeconds, &s.UpdatedAt, &s.Owner, &s.Error,
			&s.ErrorPosition, &s.Attempts, &s.Stopped, &s.Held, &s.LeaseUntil, &s.Epoch); err != nil {
			return nil, fmt.Errorf("subscription: status: %w", err)
		}
		s.LagSeconds = max(s.LagSeconds, 0)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Watermark is the consumer's position as a whole: every event at or below it has been
// handled (the lowest of its partitions' checkpoints; 0 without any).
func Watermark(ctx context.Context, db eventstore.DBTX, name string) (int64, error) {
	var pos int64
	err := db.QueryRow(ctx, `SELECT coalesce(min(position), 0) FROM consumer_checkpoints WHERE name = $1`, name).Scan(&pos)
	return pos, err
}

// ErrUnknownConsumer is returned by Reset and Skip for a name (or partition) with no
// checkpoint.
var ErrUnknownConsumer = errors.New("unknown consumer")

// AllPartitions, as the partition of Reset and Skip, means every partition.
const AllPartitions = -1

// Reset moves a consumer's checkpoint (partition, or AllPartitions) to position (it
// handles the event after it next; 0 is the start) and clears its error, so a stopped
// consumer resumes. It bumps the epoch, so the worker at it now starts over from the
// new position instead of writing over it. Moving a projection back re-applies events:
// the projections here ignore the versions of a stream they have applied, but a
// rebuild from scratch is a version bump (blue/green), not a reset.
func Reset(ctx context.Context, db eventstore.DBTX, name string, position int64) error {
	return ResetPartition(ctx, db, name, AllPartitions, position)
}

// ResetPartition is Reset of one partition (or AllPartitions).
func ResetPartition(ctx context.Context, db eventstore.DBTX, name string, partition int, position int64) error {
	if position < 0 {
		return fmt.Errorf("position must not be negative, got %d", position)
	}
	tag, err := db.Exec(ctx, `UPDATE consumer_checkpoints
		SET position = $3, transaction_id = '0', error = NULL, error_position = NULL, attempts = 0, stopped = false,
		    epoch = epoch + 1, skip_partitions = 0, skip_positions = '{}', updated_at = now()
		WHERE name = $1 AND ($2 < 0 OR partition = $2)`, name, partition, position)
	if err != nil {
		return fmt.Errorf("subscription: reset %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return unknown(name, partition)
	}
	return nil
}

func unknown(name string, partition int) error {
	if partition >= 0 {
		return fmt.Errorf("%w %q partition %d", ErrUnknownConsumer, name, partition)
	}
	return fmt.Errorf("%w %q", ErrUnknownConsumer, name)
}

// Skipped is one partition moved past its failing event by Skip.
type Skipped struct {
	Partition int
	Position  int64
}

// Skip moves every stopped (or failing) partition of a consumer past the event it fails
// on and returns the lowest of those events' positions. A consumer without an error
// has nothing to skip.
func Skip(ctx context.Context, db eventstore.DBTX, name string) (int64, error) {
	s, err := SkipPartition(ctx, db, name, AllPartitions)
	if err != nil {
		return 0, err
	}
	low := s[0].Position
	for _, x := range s {
		low = min(low, x.Position)
	}
	return low, nil
}

// SkipPartition moves a stopped (or failing) partition past the event it fails on
// (partition, or every failing one with AllPartitions) and returns those events'
// positions.
func SkipPartition(ctx context.Context, db eventstore.DBTX, name string, partition int) ([]Skipped, error) {
	var exists bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM consumer_checkpoints WHERE name = $1 AND ($2 < 0 OR partition = $2))`,
		name, partition).Scan(&exists); err != nil {
		return nil, fmt.Errorf("subscription: skip %s: %w", name, err)
	}
	if !exists {
		return nil, unknown(name, partition)
	}
	rows, err := db.Query(ctx, `UPDATE consumer_checkpoints c
		SET position = greatest(c.error_position, c.position), error = NULL, error_position = NULL,
		    attempts = 0, stopped = false, epoch = c.epoch + 1, updated_at = now()
		FROM consumer_checkpoints old
		WHERE c.name = $1 AND ($2 < 0 OR c.partition = $2) AND c.error_position IS NOT NULL
		  AND old.name = c.name AND old.partitions = c.partitions AND old.partition = c.partition
		RETURNING c.partition, old.error_position`, name, partition)
	if err != nil {
		return nil, fmt.Errorf("subscription: skip %s: %w", name, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Skipped])
	if err != nil {
		return nil, fmt.Errorf("subscription: skip %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("consumer %q has no failing event to skip", name)
	}
	return out, nil
}
