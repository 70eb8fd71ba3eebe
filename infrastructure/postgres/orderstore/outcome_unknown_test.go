package orderstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// A one-round-trip attempt with a guessed idempotency key whose batch (append, key,
// COMMIT) gets no answer before the request's deadline fails with an error that is
// not PostgreSQL's: the attempt's outcome is unknown (the COMMIT may still run), which
// is its answer, not a reason to run again. (Reading that error as a taken key
// dereferenced a PostgreSQL error that is not there.)
func TestAGuessedKeysCommitWithoutAnAnswerIsOfUnknownOutcome(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(appkit.AsSystem(context.Background()), 300*time.Millisecond)
	defer cancel()
	id := uuid.Must(application.NewID())
	key := appkit.IdempotencyKey{Scope: "s", Key: "slow"}
	at := time.Now().UTC().Truncate(time.Microsecond)
	_, err := f.store.Attempt(ctx, id, appkit.Optimistic, func(ctx context.Context, tx appkit.StreamTx[order.State, order.Event]) error {
		if rec, err := tx.ClaimIdempotencyKey(ctx, key, "f", time.Hour); err != nil || !rec.Claimed {
			return fmt.Errorf("claim: %+v %w", rec, err)
		}
		if _, err := tx.Load(ctx); err != nil {
			return err
		}
		if err := tx.Append(ctx, 0, []order.Event{order.OrderPlaced{OrderID: id, CustomerID: "x", Currency: "EUR", PlacedAt: at}}, appkit.Metadata{}, at); err != nil {
			return err
		}
		if err := tx.KeepOutcome(ctx, key, appkit.KeptOutcome{ID: id, Version: 1}); err != nil {
			return err
		}
		tx.(aggregatestore.Queue).Defer(`SELECT pg_sleep(1)`) // past the deadline
		return nil
	})
	if !errors.Is(err, appkit.ErrOutcomeUnknown) {
		t.Fatalf("a commit past the deadline: %v, want ErrOutcomeUnknown", err)
	}
}
