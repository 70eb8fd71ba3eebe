package aggregatestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// Snapshots is how an aggregate's folded state is persisted (table snapshots, migration
// 00007). A snapshot is a cache of the fold: it is written after a commit, off the
// request's path, read only when the state is not cached in memory, and deleting any
// or all of them changes no answer. The state column is bytea: the codec chooses the
// format (orders use a binary layout; json.Marshal and json.Unmarshal do for a small
// state).
type Snapshots[S any] struct {
	// SchemaVersion numbers the shape and meaning of the state. Bump it whenever the
	// aggregate's Evolve (or S) changes: snapshots taken with another number are ignored
	// and replaced as the streams are used.
	SchemaVersion int
	Encode        func(S) ([]byte, error)
	Decode        func([]byte) (S, error)
	// Every is how many events a stream gains between snapshots; 0 takes
	// DefaultSnapshotEvery.
	Every int64
}

// DefaultSnapshotEvery is a sensible Snapshots.Every: a cold command folds at most this
// many events after the snapshot.
const DefaultSnapshotEvery = 100

const (
	readSnapshot = `SELECT version, state FROM snapshots
		WHERE stream_type = $1 AND stream_id = $2 AND state_schema_version = $3`
	// A snapshot replaces an older one, or one of another schema version.
	writeSnapshot = `INSERT INTO snapshots AS s (stream_type, stream_id, version, state_schema_version, state)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (stream_type, stream_id) DO UPDATE
		SET version = EXCLUDED.version, state_schema_version = EXCLUDED.state_schema_version,
		    state = EXCLUDED.state, taken_at = now()
		WHERE s.version < EXCLUDED.version OR s.state_schema_version <> EXCLUDED.state_schema_version`
)

// readSnapshot returns the stream's snapshot of this schema version, if there is one.
func (s *Store[S, E]) readSnapshot(ctx context.Context, db eventstore.DBTX, id uuid.UUID) (appkit.Versioned[S], bool, error) {
	sn := s.cfg.Snapshots
	st := s.Stream(id)
	var version int64
	var state []byte
	err := db.QueryRow(ctx, readSnapshot, st.Type, st.ID, sn.SchemaVersion).Scan(&version, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return appkit.Versioned[S]{}, false, nil
	}
	if err != nil {
		return appkit.Versioned[S]{}, false, postgres.Classify(fmt.Errorf("read snapshot of %s: %w", st, err))
	}
	decoded, err := sn.Decode(state)
	if err != nil {
		// An unreadable snapshot is only a missed shortcut: fold the whole stream.
		return appkit.Versioned[S]{}, false, nil
	}
	return appkit.Versioned[S]{State: decoded, Version: version}, true, nil
}

// snapshot writes view in the background, unless enough writers are already busy (the
// next crossing of Every, or the next cold load, will take it).
func (s *Store[S, E]) snapshot(ctx context.Context, id uuid.UUID, view appkit.Versioned[S]) {
	select {
	case s.snapshots <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-s.snapshots }()
		sn := s.cfg.Snapshots
		state, err := sn.Encode(view.State)
		if err != nil {
			return
		}
		// Written after the command, in the background: it outlives the request.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		st := s.Stream(id)
		_, _ = s.pool.Exec(ctx, writeSnapshot, st.Type, st.ID, view.Version, sn.SchemaVersion, state)
	}()
}
