// Package shipmentstore is what shipments bring to the PostgreSQL plumbing: the stream
// type, the shipment_overview inline projection and its queries. The write path is the
// generic aggregatestore.
package shipmentstore

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// StreamType is the stream type of every shipment stream; the stream id is the
// shipment id.
const StreamType = shipment.Resource

// Store is the shipment write side: application.ShipmentStore on PostgreSQL.
type Store = aggregatestore.Store[shipment.State, shipment.Event]

// NewStore returns the shipment store, keeping the folded state of up to
// aggregatestore.DefaultCachedStates recently written shipments.
func NewStore(pool *pgxpool.Pool, codec *eventcodec.Registry[shipment.Event]) *Store {
	return newStore(pool, codec, aggregatestore.DefaultCachedStates)
}

func newStore(pool *pgxpool.Pool, codec *eventcodec.Registry[shipment.Event], cached int) *Store {
	return aggregatestore.New(pool, aggregatestore.Config[shipment.State, shipment.Event]{
		StreamType: StreamType, Codec: codec, Initial: shipment.Decider.Initial, Fold: shipment.Decider.Fold,
		Project: project, CachedStates: cached,
	})
}
