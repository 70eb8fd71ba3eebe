package personaldata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/customer"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// ErasedEventType is PersonalDataErased's stored name.
const ErasedEventType = "PersonalDataErased"

// Eraser implements application.PersonalDataEraser: it deletes the customer's data key
// and appends PersonalDataErased to the customer's stream, in one transaction.
type Eraser struct {
	Pool *pgxpool.Pool
	// AfterCommit, when set, runs after an erasure commits (the NOTIFY that wakes feeds).
	AfterCommit func()
}

// ErasePersonalData erases; see application.PersonalDataEraser. The DELETE comes first:
// it waits for the transactions sealing under the key, and a concurrent erasure of the
// same customer waits for this one, then finds nothing to delete and records nothing.
func (e Eraser) ErasePersonalData(ctx context.Context, erased customer.PersonalDataErased, md appkit.Metadata) (bool, error) {
	payload, err := json.Marshal(erased)
	if err != nil {
		return false, err
	}
	meta, err := json.Marshal(md)
	if err != nil {
		return false, err
	}
	done := false
	err = pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if done, err = Erase(ctx, tx, erased.CustomerID); err != nil || !done {
			return err
		}
		stream := eventstore.StreamID{Type: customer.StreamType, ID: erased.CustomerID}
		var version int64
		err := tx.QueryRow(ctx, `SELECT version FROM aggregate_heads WHERE stream_type = $1 AND stream_id = $2 FOR UPDATE`, stream.Type, stream.ID).Scan(&version)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = eventstore.Append(ctx, tx, stream, eventstore.Exact(version), []eventstore.EventData{{
			Type: ErasedEventType, SchemaVersion: 1, Payload: payload, Metadata: meta,
			CorrelationID: md.CorrelationID, CausationID: md.CausationID, RecordedAt: erased.ErasedAt,
		}})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("erase personal data of %q: %w", erased.CustomerID, postgres.Classify(err))
	}
	if done && e.AfterCommit != nil {
		e.AfterCommit()
	}
	return done, nil
}
