package main

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/infrastructure/metrics"
	"github.com/example/orders/infrastructure/postgres/subscription"
)

// consumerStats feeds orders_consumer_position/lag_events/lag_seconds/stopped{consumer,partition}:
// one query (subscription.Statuses) when scraped; metrics.ObserveConsumers bounds its
// time and how often it runs, and says when it fails. Every replica reports the same
// numbers: the checkpoints are shared.
type consumerStats struct {
	pool *pgxpool.Pool
	rt   *subscription.Runtime
}

func newConsumerStats(pool *pgxpool.Pool, rt *subscription.Runtime) *consumerStats {
	return &consumerStats{pool: pool, rt: rt}
}

func (s *consumerStats) ConsumerStats(ctx context.Context) ([]metrics.ConsumerStat, error) {
	all, err := s.rt.Stats(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	stats := make([]metrics.ConsumerStat, len(all))
	for i, st := range all {
		stats[i] = metrics.ConsumerStat{Consumer: st.Name, Partition: strconv.Itoa(st.Partition), Position: st.Position, LagEvents: st.LagEvents, LagSeconds: st.LagSeconds, Stopped: st.Stopped}
	}
	return stats, nil
}
