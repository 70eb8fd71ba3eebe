package subscription_test

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/infrastructure/postgres/subscription"
)

func subscriptionSkip(pool *pgxpool.Pool, name string) (int64, error) {
	return subscription.Skip(context.Background(), pool, name)
}
