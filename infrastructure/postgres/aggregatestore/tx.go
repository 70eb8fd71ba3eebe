package aggregatestore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Tx is a transaction on one connection that spends as few round trips as the
// command cycle allows. BEGIN travels with the first statement, and statements whose
// results nobody waits for (the read-model updates, the idempotency response) are
// deferred and travel with COMMIT. A command that reads is then three round trips:
// BEGIN+read, append, deferred+COMMIT, instead of one per statement; one that sends
// nothing before its deferred statements is one round trip, an implicit transaction
// (see commit).
//
// It implements eventstore.DBTX, so the event store runs on it unchanged; projections
// queue their writes with Defer.
type Tx struct {
	conn     *pgx.Conn
	begun    bool
	deferred pgx.Batch
	guessed  *guessedKey // an idempotency key claimed without asking
	keyTaken bool        // the guessed key was found claimed (claimGuessed)
}

// batch sends b, with BEGIN in front if the transaction has not started yet, and
// returns the results positioned at b's first statement.
func (t *Tx) batch(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	if !t.begun && t.guessed != nil {
		if err := t.claimGuessed(ctx); err != nil {
			return nil, err
		}
	}
	if !t.begun {
		withBegin := &pgx.Batch{}
		withBegin.Queue("BEGIN")
		withBegin.QueuedQueries = append(withBegin.QueuedQueries, b.QueuedQueries...)
		b = withBegin
	}
	br := t.conn.SendBatch(ctx, b)
	if !t.begun {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // the error above is the one to report
			return nil, err
		}
		t.begun = true
	}
	return br, nil
}

func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.begun {
		return t.conn.Query(ctx, sql, args...)
	}
	var b pgx.Batch
	b.Queue(sql, args...)
	br, err := t.batch(ctx, &b)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close() // the error above is the one to report
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	return firstRow{rows: rows, err: err}
}

func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.begun {
		return t.conn.Exec(ctx, sql, args...)
	}
	var b pgx.Batch
	b.Queue(sql, args...)
	br, err := t.batch(ctx, &b)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	return tag, err
}

// Defer queues a statement to run just before COMMIT.
func (t *Tx) Defer(sql string, args ...any) { t.deferred.Queue(sql, args...) }

// deferFirst is Defer, ahead of the statements deferred so far.
func (t *Tx) deferFirst(sql string, args ...any) {
	t.deferred.Queue(sql, args...)
	q := t.deferred.QueuedQueries
	t.deferred.QueuedQueries = append(q[len(q)-1:], q[:len(q)-1]...)
}

// deferRows is Defer for a statement whose rows the caller wants: read runs on them
// when the batch with the COMMIT is answered.
func (t *Tx) deferRows(read func(pgx.Rows) error, sql string, args ...any) {
	t.deferred.Queue(sql, args...).Query(read)
}

// commit sends the deferred statements and COMMIT in one round trip.
//
// When nothing was sent before (the one-round-trip path), there is no BEGIN and no
// COMMIT: the statements go as one pipeline closed by a single Sync, which PostgreSQL
// runs as one implicit transaction, committed (durably, like any commit) at the Sync,
// or rolled back whole if any statement fails. Two statements fewer for the server to
// parse, plan and run, and no ROLLBACK round trip after a failure.
func (t *Tx) commit(ctx context.Context) error {
	if !t.begun {
		if t.deferred.Len() == 0 {
			return nil
		}
		if err := t.conn.SendBatch(ctx, &t.deferred).Close(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	t.deferred.Queue("COMMIT")
	br, err := t.batch(ctx, &t.deferred)
	if err != nil {
		return err
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	// A COMMIT in a failed transaction rolls back without an error; the failing
	// statement's error surfaces above, so reaching here means it committed.
	return nil
}

// rollback ends the transaction if one is open, within the request's own deadline (and
// at most 5 s): a connection it cannot bring back to idle, because the deadline has
// passed or the server does not answer, is closed by the pool on release, and
// PostgreSQL rolls back with the session. A ROLLBACK detached from the request kept it
// waiting for a frozen server past REQUEST_TIMEOUT (make soak, TestDatabaseOutage).
func (t *Tx) rollback(ctx context.Context) {
	if t.begun && ctx.Err() == nil && t.conn.PgConn().TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, _ = t.conn.Exec(ctx, "ROLLBACK")
	}
}

// batchRows closes the batch with the rows, so the connection is free afterwards. Like
// pgx's own rows it closes itself when Next runs out, since callers may rely on that.
type batchRows struct {
	pgx.Rows
	br       pgx.BatchResults
	closeErr error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if err := r.br.Close(); err != nil && r.closeErr == nil {
		r.closeErr = err
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.closeErr
}

// firstRow gives pgx.Row semantics over Rows.
type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
