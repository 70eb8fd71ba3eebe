package orderstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
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
	err := keyedPlaceDeferring(ctx, f, uuid.Must(application.NewID()), appkit.IdempotencyKey{Scope: "s", Key: "slow"}, `SELECT pg_sleep(1)`) // past the deadline
	if !errors.Is(err, appkit.ErrOutcomeUnknown) {
		t.Fatalf("a commit past the deadline: %v, want ErrOutcomeUnknown", err)
	}
}
