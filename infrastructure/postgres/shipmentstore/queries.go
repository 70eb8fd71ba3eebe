package shipmentstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// Queries implements application.ShipmentQueries: shipment_overview, and the streams
// for history.
type Queries struct {
	pool   *pgxpool.Pool
	events *Store
}

func NewQueries(pool *pgxpool.Pool, codec *eventcodec.Registry[shipment.Event]) *Queries {
	return &Queries{pool: pool, events: newStore(pool, codec, 0)}
}

const selectOverview = `SELECT s.id, s.order_id, s.customer_id, s.status, coalesce(s.carrier, ''), coalesce(s.tracking_no, ''), s.items,
	s.version, s.created_at, s.updated_at FROM shipment_overview s `

func (q *Queries) ByID(ctx context.Context, id uuid.UUID) (application.ShipmentView, error) {
	views, err := q.query(ctx, selectOverview+`WHERE s.id = $1`, id)
	if err != nil {
		return application.ShipmentView{}, err
	}
	if len(views) == 0 {
		return application.ShipmentView{}, shipment.ErrNotFound
	}
	return views[0], nil
}

// ListShipments builds its WHERE clause from fixed fragments (never from request
// text), so each filter combination gets a plan that can use its index.
func (q *Queries) ListShipments(ctx context.Context, l application.ListShipments) (application.ShipmentPage, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if l.CustomerID != "" {
		where = append(where, "s.customer_id = "+arg(l.CustomerID))
	}
	if l.OrderID != nil {
		where = append(where, "s.order_id = "+arg(*l.OrderID))
	}
	if l.Status != shipment.StatusNone {
		where = append(where, "s.status = "+arg(string(l.Status)))
	}
	if l.After != nil {
		where = append(where, fmt.Sprintf("(s.created_at, s.id) < (%s, %s)", arg(l.After.At), arg(l.After.ID)))
	}
	sql := selectOverview
	if len(where) > 0 {
		sql += "WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY s.created_at DESC, s.id DESC LIMIT " + arg(l.Limit+1)
	views, err := q.query(ctx, sql, args...)
	if err != nil {
		return application.ShipmentPage{}, err
	}
	page := application.ShipmentPage{Items: views}
	if len(views) > l.Limit {
		page.Items = views[:l.Limit]
		last := page.Items[l.Limit-1]
		page.Next = &application.PageKey{At: last.State.CreatedAt, ID: last.State.ID}
	}
	return page, nil
}

func (q *Queries) Events(ctx context.Context, id uuid.UUID, r application.EventRange) ([]application.RecordedEvent[shipment.Event], error) {
	return q.events.History(ctx, id, eventstore.StreamRange{From: r.From, To: r.To, Until: r.Until})
}

func (q *Queries) query(ctx context.Context, sql string, args ...any) ([]application.ShipmentView, error) {
	rows, err := q.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	views, err := scanOverviews(rows)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	return views, nil
}

func scanOverviews(rows pgx.Rows) ([]application.ShipmentView, error) {
	defer rows.Close()
	views := []application.ShipmentView{}
	for rows.Next() {
		var v application.ShipmentView
		var status string
		var items []byte
		if err := rows.Scan(&v.State.ID, &v.State.OrderID, &v.State.CustomerID, &status, &v.State.Carrier, &v.State.TrackingNo, &items,
			&v.Version, &v.State.CreatedAt, &v.State.UpdatedAt); err != nil {
			return nil, err
		}
		v.State.Status = shipment.Status(status)
		v.State.CreatedAt, v.State.UpdatedAt = v.State.CreatedAt.UTC(), v.State.UpdatedAt.UTC()
		if err := json.Unmarshal(items, &v.State.Items); err != nil {
			return nil, fmt.Errorf("shipment %s: items: %w", v.State.ID, err)
		}
		views = append(views, v)
	}
	return views, rows.Err()
}
