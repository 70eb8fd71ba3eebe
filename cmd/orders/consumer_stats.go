package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/infrastructure/metrics"
	"github.com/example/orders/infrastructure/postgres/subscription"
)

// consumerStats feeds orders_consumer_position/lag_events/lag_seconds/stopped{consumer}. A
// scrape must be cheap, so it answers what it read last and, when that is older than
// statsMaxAge, refreshes in the background (one query, subscription.Statuses). Every
// replica reports the same numbers: the checkpoints are shared.
type consumerStats struct {
	pool       *pgxpool.Pool
	rt         *subscription.Runtime
	mu         sync.Mutex
	last       []metrics.ConsumerStat
	at         time.Time
	refreshing atomic.Bool
}

const statsMaxAge = 5 * time.Second

func newConsumerStats(pool *pgxpool.Pool, rt *subscription.Runtime) *consumerStats {
	return &consumerStats{pool: pool, rt: rt}
}

func (s *consumerStats) ConsumerStats() []metrics.ConsumerStat {
	s.mu.Lock()
	out, stale := slices.Clone(s.last), time.Since(s.at) > statsMaxAge
	s.mu.Unlock()
	if stale && s.refreshing.CompareAndSwap(false, true) {
		go s.refresh()
	}
	return out
}

func (s *consumerStats) refresh() {
	defer s.refreshing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	all, err := s.rt.Stats(ctx, s.pool)
	if err != nil {
		return
	}
	stats := make([]metrics.ConsumerStat, len(all))
	for i, st := range all {
		stats[i] = metrics.ConsumerStat{Consumer: st.Name, Position: st.Position, LagEvents: st.LagEvents, LagSeconds: st.LagSeconds, Stopped: st.Stopped}
	}
	s.mu.Lock()
	s.last, s.at = stats, time.Now()
	s.mu.Unlock()
}
