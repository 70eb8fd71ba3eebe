// Package orderstore is what orders bring to the PostgreSQL plumbing: the stream type,
// the order_overview inline projection and its queries, and its registration with
// `orders verify` and `orders rebuild` (ReadModel). The write path itself is the
// generic aggregatestore.
package orderstore

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// StreamType is the stream type of every order stream; the stream id is the order id.
const StreamType = order.Resource

// Store is the order write side: application.OrderStore on PostgreSQL.
type Store = aggregatestore.Store[order.State, order.Event]

// NewStore returns the order store, keeping the folded state of up to
// aggregatestore.DefaultCachedStates recently written orders.
func NewStore(pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event]) *Store {
	return NewStoreWithCache(pool, codec, aggregatestore.DefaultCachedStates)
}

// NewStoreWithCache is NewStore with the number of cached order states; 0 disables the
// cache, so that every command folds the stream (from its snapshot, if any).
func NewStoreWithCache(pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event], cachedOrders int) *Store {
	return NewStoreWithSnapshots(pool, codec, cachedOrders, aggregatestore.DefaultSnapshotEvery)
}

// NewStoreWithSnapshots is NewStoreWithCache with a snapshot taken every snapshotEvery
// events; 0 takes no snapshots.
func NewStoreWithSnapshots(pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event], cachedOrders int, snapshotEvery int64) *Store {
	cfg := aggregatestore.Config[order.State, order.Event]{
		StreamType: StreamType, Codec: codec, Initial: order.Decider.Initial, Fold: order.Decider.Fold,
		Project: project, CachedStates: cachedOrders,
	}
	if snapshotEvery > 0 {
		cfg.Snapshots = stateSnapshots()
		cfg.Snapshots.Every = snapshotEvery
	}
	return aggregatestore.New(pool, cfg)
}
