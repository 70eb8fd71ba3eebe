package personaldata

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/example/orders/application/appkit"
)

// DB is what the keys are read and written through: a pool, a connection or a
// transaction (sealing must run in the transaction that stores the sealed data).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrNoKEK is returned for personal data to seal or open when no key encryption key is
// configured.
var ErrNoKEK = fmt.Errorf("personal data: no key encryption key is configured (PII_KEK or PII_KEK_FILE): %w", appkit.ErrUnavailable)

// Keys seals and opens personal data with the data subjects' keys. It wraps new data
// keys with the current KEK and unwraps with whichever configured KEK wrapped a key
// (the current one, or a previous one during a rotation).
type Keys struct {
	current KEK
	byID    map[string]KEK
	// sealing keeps the data keys this process sealed with, by subject, so that the
	// next seal for the subject costs no round trip: the insert of the events checks
	// that the key is still the subject's (migration 00017). Opening never uses it.
	mu      sync.Mutex
	sealing map[string]dataKey
}

// maxSealingKeys bounds Keys.sealing; past it the map starts again empty.
const maxSealingKeys = 10_000

// keyGone is the SQLSTATE of personal_data_key_held: a kept data key was erased.
const keyGone = "ES420"

// IsKeyGone reports whether err is a transaction that failed because a data key kept
// for sealing was erased meanwhile: forget the subjects (Forget) and run it again.
func IsKeyGone(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == keyGone
}

// Forget drops the kept data keys of subjects.
func (k *Keys) Forget(subjects ...string) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range subjects {
		delete(k.sealing, s)
	}
}

func (k *Keys) kept(subject string) (dataKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	dk, ok := k.sealing[subject]
	return dk, ok
}

func (k *Keys) keep(subject string, dk dataKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sealing == nil || len(k.sealing) >= maxSealingKeys {
		k.sealing = map[string]dataKey{}
	}
	k.sealing[subject] = dk
}

// NewKeys returns Keys wrapping with current (nil: none configured, so personal data
// can be neither sealed nor opened) and unwrapping with current and previous.
func NewKeys(current KEK, previous ...KEK) *Keys {
	k := &Keys{current: current, byID: map[string]KEK{}}
	for _, kek := range append([]KEK{current}, previous...) {
		if kek != nil {
			k.byID[kek.ID()] = kek
		}
	}
	return k
}

// dataKey is a subject's data key, ready to seal with: its cipher is built once, when
// the key is read or created (the key schedule costs as much as sealing a contact).
type dataKey struct {
	id   uuid.UUID
	aead cipher.AEAD
}

// forSubject returns the subject's data key, creating it if it has none, and holds a
// lock on it until db's transaction ends (see migration 00015).
func (k *Keys) forSubject(ctx context.Context, db DB, subject string) (dataKey, error) {
	if k.current == nil {
		return dataKey{}, ErrNoKEK
	}
	freshID, key := uuid.New(), make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return dataKey{}, err
	}
	wrapped, err := k.current.Wrap(key)
	if err != nil {
		return dataKey{}, err
	}
	var id uuid.UUID
	var gotWrapped []byte
	var kekID string
	err = db.QueryRow(ctx, `SELECT key_id, wrapped, kek_id FROM personal_data_key($1, $2, $3, $4)`,
		subject, freshID, wrapped, k.current.ID()).Scan(&id, &gotWrapped, &kekID)
	if err != nil {
		return dataKey{}, fmt.Errorf("personal data key: %w", err)
	}
	if id != freshID {
		if key, err = k.unwrap(kekID, gotWrapped); err != nil {
			return dataKey{}, err
		}
	}
	aead, err := newGCM(key)
	if err != nil {
		return dataKey{}, err
	}
	return dataKey{id: id, aead: aead}, nil
}

// byIDs returns the data keys that still exist among ids, in the clear; an erased key
// is simply missing.
func (k *Keys) byIDs(ctx context.Context, db DB, ids []uuid.UUID) (map[uuid.UUID][]byte, error) {
	rows, err := db.Query(ctx, `SELECT key_id, wrapped, kek_id FROM personal_data_keys WHERE key_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("personal data keys: %w", err)
	}
	keys := map[uuid.UUID][]byte{}
	var id uuid.UUID
	var wrapped []byte
	var kekID string
	_, err = pgx.ForEachRow(rows, []any{&id, &wrapped, &kekID}, func() error {
		key, err := k.unwrap(kekID, wrapped)
		keys[id] = key
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("personal data keys: %w", err)
	}
	return keys, nil
}

func (k *Keys) unwrap(kekID string, wrapped []byte) ([]byte, error) {
	kek, ok := k.byID[kekID]
	if !ok {
		if len(k.byID) == 0 {
			return nil, ErrNoKEK
		}
		return nil, fmt.Errorf("personal data: a data key is wrapped by key encryption key %s, which is not configured", kekID)
	}
	key, err := kek.Unwrap(wrapped)
	if err != nil {
		return nil, fmt.Errorf("personal data: unwrap a data key with %s: %w", kekID, err)
	}
	return key, nil
}

// erasing marks the placeholder row Erase inserts; it is never a KEK's id.
const erasing = "erasing"

// Erase deletes the subject's data key; it reports whether there was one. It waits for
// every transaction that is sealing under the key (they hold a lock on it) and for one
// that is creating it (the placeholder's INSERT waits on the same primary key), so
// what they store is erased too, and every event sealed under the key comes before
// the erasure in the log. db should be a transaction: the placeholder is deleted with
// the key.
func Erase(ctx context.Context, db DB, subject string) (bool, error) {
	_, err := db.Exec(ctx, `INSERT INTO personal_data_keys (subject, key_id, wrapped, kek_id) VALUES ($1, $2, '', $3)
		ON CONFLICT (subject) DO NOTHING`, subject, uuid.New(), erasing)
	if err != nil {
		return false, fmt.Errorf("erase the personal data key of %q: %w", subject, err)
	}
	var kekID string
	err = db.QueryRow(ctx, `DELETE FROM personal_data_keys WHERE subject = $1 RETURNING kek_id`, subject).Scan(&kekID)
	if err != nil {
		return false, fmt.Errorf("erase the personal data key of %q: %w", subject, err)
	}
	return kekID != erasing, nil
}

// Check is the start-up check: every stored data key must be wrapped by a configured
// KEK. A lost or wrong KEK is reported here, by name, rather than as a failure on
// some later request.
func (k *Keys) Check(ctx context.Context, db DB) error {
	rows, err := db.Query(ctx, `SELECT kek_id, count(*) FROM personal_data_keys GROUP BY kek_id`)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		return nil // a database before migration 00015 holds no keys (serve --migrate checks before migrating)
	}
	if err != nil {
		return fmt.Errorf("personal data keys: %w", err)
	}
	var kekID string
	var n int64
	var unknown []string
	_, err = pgx.ForEachRow(rows, []any{&kekID, &n}, func() error {
		if _, ok := k.byID[kekID]; !ok {
			unknown = append(unknown, fmt.Sprintf("%d wrapped by %s", n, kekID))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("personal data keys: %w", err)
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	configured := slices.Sorted(func(yield func(string) bool) {
		for id := range k.byID {
			if !yield(id) {
				return
			}
		}
	})
	return fmt.Errorf("personal data: stored data keys need a key encryption key that is not configured (%s; configured: %s): set PII_KEK (or PII_KEK_FILE) to the key that wrapped them, and during a rotation the old one as PII_KEK_PREVIOUS",
		strings.Join(unknown, ", "), orNone(configured))
}

func orNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// Rotate re-wraps every data key not wrapped by the current KEK with it, batch rows at
// a time, online: it changes no key and no event, and each row is rewritten only if no
// one changed it meanwhile. It returns how many it re-wrapped.
func (k *Keys) Rotate(ctx context.Context, db DB, batch int) (int, error) {
	if k.current == nil {
		return 0, ErrNoKEK
	}
	done := 0
	for {
		rows, err := db.Query(ctx, `SELECT key_id, wrapped, kek_id FROM personal_data_keys WHERE kek_id <> $1 ORDER BY key_id LIMIT $2`, k.current.ID(), batch)
		if err != nil {
			return done, fmt.Errorf("rotate: %w", err)
		}
		type row struct {
			id      uuid.UUID
			wrapped []byte
			kekID   string
		}
		var todo []row
		var r row
		if _, err := pgx.ForEachRow(rows, []any{&r.id, &r.wrapped, &r.kekID}, func() error { todo = append(todo, r); return nil }); err != nil {
			return done, fmt.Errorf("rotate: %w", err)
		}
		if len(todo) == 0 {
			return done, nil
		}
		for _, r := range todo {
			key, err := k.unwrap(r.kekID, r.wrapped)
			if err != nil {
				return done, fmt.Errorf("rotate: %w", err)
			}
			wrapped, err := k.current.Wrap(key)
			if err != nil {
				return done, fmt.Errorf("rotate: %w", err)
			}
			tag, err := db.Exec(ctx, `UPDATE personal_data_keys SET wrapped = $1, kek_id = $2 WHERE key_id = $3 AND kek_id = $4`,
				wrapped, k.current.ID(), r.id, r.kekID)
			if err != nil {
				return done, fmt.Errorf("rotate: %w", err)
			}
			done += int(tag.RowsAffected())
		}
	}
}
