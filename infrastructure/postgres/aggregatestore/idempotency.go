package aggregatestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/postgres"
)

const (
	// Claim a key: a new key is inserted and stays locked by this transaction until it
	// commits; a concurrent claimer of the same key waits on that lock. An expired record
	// is taken over as if new. A live record is left alone and returns no row.
	claimKey = `INSERT INTO idempotency_keys AS k (scope, key, fingerprint, expires_at)
		VALUES ($1, $2, $3, now() + make_interval(secs => $4))
		ON CONFLICT (scope, key) DO UPDATE
		SET fingerprint = EXCLUDED.fingerprint, outcome = NULL, status = NULL, content_type = NULL, headers = NULL,
		    body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
		WHERE k.expires_at <= now()
		RETURNING key`
	readKey = `SELECT fingerprint, coalesce(outcome, legacy_idempotency_outcome(status, headers, body), '{}')
		FROM idempotency_keys WHERE scope = $1 AND key = $2`
	keepOutcome = `UPDATE idempotency_keys SET outcome = $3 WHERE scope = $1 AND key = $2`
	// A key taken to be new, inserted with its outcome; one that exists (a repeat, a
	// concurrent claimer's, an expired record) violates the primary key (isKeyTaken).
	insertKey = `INSERT INTO idempotency_keys (scope, key, fingerprint, expires_at, outcome)
		VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)`
)

// guessedKey is a key claimed without asking (Optimistic mode): it is inserted with the
// outcome, in the commit's batch.
type guessedKey struct {
	key         appkit.IdempotencyKey
	fingerprint string
	keepFor     time.Duration
}

// claimGuessed claims the guessed key by asking, before the transaction sends anything
// else: every transaction takes its key before the rows it then locks (a stream's head,
// a customer's data key), so that two cannot deadlock. A key found claimed ends the
// attempt with ErrUnverified; the Read attempt replays it.
func (t *Tx) claimGuessed(ctx context.Context) error {
	g := t.guessed
	t.guessed = nil
	rec, err := t.ClaimIdempotencyKey(ctx, g.key, g.fingerprint, g.keepFor)
	if err != nil {
		return err
	}
	if !rec.Claimed {
		t.keyTaken = true
		return appkit.ErrUnverified
	}
	return nil
}

// isKeyTaken reports whether err is the insert of a guessed key that exists.
func isKeyTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "idempotency_keys_pkey"
}

// ClaimIdempotencyKey claims key within its scope (the principal's subject).
func (t *Tx) ClaimIdempotencyKey(ctx context.Context, key appkit.IdempotencyKey, fingerprint string, keepFor time.Duration) (appkit.IdempotencyRecord, error) {
	var claimed string
	err := t.QueryRow(ctx, claimKey, key.Scope, key.Key, fingerprint, keepFor.Seconds()).Scan(&claimed)
	if err == nil {
		return appkit.IdempotencyRecord{Claimed: true}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return appkit.IdempotencyRecord{}, postgres.Classify(fmt.Errorf("claim idempotency key: %w", err))
	}
	var rec appkit.IdempotencyRecord
	var outcome []byte
	if err := t.QueryRow(ctx, readKey, key.Scope, key.Key).Scan(&rec.Fingerprint, &outcome); err != nil {
		return appkit.IdempotencyRecord{}, postgres.Classify(fmt.Errorf("read idempotency key: %w", err))
	}
	if err := json.Unmarshal(outcome, &rec.Outcome); err != nil {
		return appkit.IdempotencyRecord{}, fmt.Errorf("read idempotency key: outcome: %w", err)
	}
	return rec, nil
}

// KeepOutcome stores the outcome with the commit; a guessed key is inserted with it.
func (t *Tx) KeepOutcome(_ context.Context, key appkit.IdempotencyKey, outcome appkit.KeptOutcome) error {
	encoded, err := json.Marshal(outcome)
	if err != nil {
		return fmt.Errorf("keep idempotent outcome: %w", err)
	}
	if g := t.guessed; g != nil && g.key == key {
		// First in the batch: every transaction takes a key before its stream's head (a
		// claim comes before the append), or two of them could deadlock.
		t.deferFirst(insertKey, key.Scope, key.Key, g.fingerprint, g.keepFor.Seconds(), encoded)
		return nil
	}
	t.Defer(keepOutcome, key.Scope, key.Key, encoded)
	return nil
}

// DeleteExpiredIdempotencyKeys removes records past their retention and returns how
// many went. The service runs it periodically.
func DeleteExpiredIdempotencyKeys(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	tag, err := pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= now()`)
	if err != nil {
		return 0, postgres.Classify(fmt.Errorf("delete expired idempotency keys: %w", err))
	}
	return tag.RowsAffected(), nil
}
