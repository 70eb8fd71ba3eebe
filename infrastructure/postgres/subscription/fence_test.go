package subscription_test

import (
	"context"
	"errors"
	"testing"

	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// advance is the fence of every checkpoint move outside a projection's transaction (a
// reactor's, an idle partition's): under an epoch that is no longer the row's (another
// claim, an operator's reset or skip took the partition) it moves nothing and says
// ErrNotOwner, so the worker stops instead of going on as if it still owned the
// partition; under the row's epoch it moves the position.
func TestAdvanceUnderAStaleEpochMovesNothingAndSaysSo(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO consumer_checkpoints (name, position, epoch) VALUES ('proj', 5, 2)`); err != nil {
		t.Fatal(err)
	}
	if err := subscription.Advance(ctx, pool, "proj", 1, 0, 1, 9); !errors.Is(err, subscription.ErrNotOwner) {
		t.Fatalf("advance under a stale epoch: %v, want ErrNotOwner", err)
	}
	if p := status(t, pool, "proj").Position; p != 5 {
		t.Fatalf("a refused advance moved the checkpoint to %d", p)
	}
	if err := subscription.Advance(ctx, pool, "proj", 1, 0, 2, 9); err != nil {
		t.Fatalf("advance under the row's epoch: %v", err)
	}
	if p := status(t, pool, "proj").Position; p != 9 {
		t.Fatalf("after an advance the checkpoint is at %d, want 9", p)
	}
}
