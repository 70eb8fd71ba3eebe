package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/example/orders/migrations"
)

// Readiness reports whether the database answers and its schema is fully migrated.
type Readiness struct {
	pool     *pgxpool.Pool
	migrated atomic.Bool // once true, stays true: migrations do not un-apply themselves
}

func NewReadiness(pool *pgxpool.Pool) *Readiness { return &Readiness{pool: pool} }

func (r *Readiness) Ready(ctx context.Context) error {
	if err := r.pool.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	if r.migrated.Load() {
		return nil
	}
	db := stdlib.OpenDBFromPool(r.pool)
	defer func() { _ = db.Close() }()
	pending, err := migrations.Pending(ctx, db)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("migrations are pending: run `orders migrate up` or serve with --migrate")
	}
	r.migrated.Store(true)
	return nil
}
