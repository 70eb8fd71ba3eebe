package shipmentstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// Queries implements application.ShipmentQueries: shipment_overview, and the streams
// for history.
type Queries struct {
	aggregatestore.Reads[shipment.State, shipment.Event]
}

func NewQueries(pool *pgxpool.Pool, codec *eventcodec.Registry[shipment.Event]) *Queries {
	return &Queries{aggregatestore.Reads[shipment.State, shipment.Event]{Streams: newStore(pool, codec, 0), Overview: aggregatestore.Overview[shipment.State]{
		Pool: pool, Select: selectOverview, ID: "s.id", Newest: "s.created_at", NotFound: shipment.ErrNotFound, Scan: scanOverview,
		Key: func(s shipment.State) appkit.PageKey { return appkit.PageKey{At: s.CreatedAt, ID: s.ID} },
	}}}
}

const selectOverview = `SELECT s.id, s.order_id, s.customer_id, s.status, coalesce(s.carrier, ''), coalesce(s.tracking_no, ''), s.items,
	s.version, s.created_at, s.updated_at, s.ship_to FROM shipment_overview s `

// OpenPersonalData has the queries open the personal data they show with keys, and
// returns them.
func (q *Queries) OpenPersonalData(keys *personaldata.Keys) *Queries {
	q.UsePersonalData(keys)
	return q
}

// ListShipments lists shipment_overview by its filters.
func (q *Queries) ListShipments(ctx context.Context, l application.ListShipments) (application.ShipmentPage, error) {
	var f aggregatestore.Filter
	if l.CustomerID != "" {
		f.Equal("s.customer_id", l.CustomerID)
	}
	if l.OrderID != nil {
		f.Equal("s.order_id", *l.OrderID)
	}
	if l.Status != shipment.StatusNone {
		f.Equal("s.status", string(l.Status))
	}
	return q.List(ctx, f, l.After, l.Limit)
}

func scanOverview(rows pgx.Rows) (application.ShipmentView, error) {
	var v application.ShipmentView
	var status string
	var items, shipTo []byte
	if err := rows.Scan(&v.State.ID, &v.State.OrderID, &v.State.CustomerID, &status, &v.State.Carrier, &v.State.TrackingNo, &items,
		&v.Version, &v.State.CreatedAt, &v.State.UpdatedAt, &shipTo); err != nil {
		return v, err
	}
	if shipTo != nil {
		if err := json.Unmarshal(shipTo, &v.State.ShipTo); err != nil {
			return v, fmt.Errorf("shipment %s: ship_to: %w", v.State.ID, err)
		}
	}
	v.State.Status = shipment.Status(status)
	v.State.CreatedAt, v.State.UpdatedAt = v.State.CreatedAt.UTC(), v.State.UpdatedAt.UTC()
	if err := json.Unmarshal(items, &v.State.Items); err != nil {
		return v, fmt.Errorf("shipment %s: items: %w", v.State.ID, err)
	}
	return v, nil
}
