package orderstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// Queries implements application.OrderQueries: order_overview, and the store's streams
// for history.
type Queries struct {
	aggregatestore.Reads[order.State, order.Event]
}

func NewQueries(pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event]) *Queries {
	return &Queries{aggregatestore.Reads[order.State, order.Event]{Streams: NewStoreWithCache(pool, codec, 0), Overview: aggregatestore.Overview[order.State]{
		Pool: pool, Select: selectOverview, ID: "o.id", Newest: "o.placed_at", NotFound: order.ErrNotFound, Scan: scanOverview,
		Key: func(s order.State) appkit.PageKey { return appkit.PageKey{At: s.PlacedAt, ID: s.ID} },
	}}}
}

const selectOverview = `SELECT o.id, o.customer_id, o.status, o.currency, o.total_cents, o.unit_count, o.version,
	o.placed_at, o.updated_at, o.contact,
	(SELECT coalesce(jsonb_agg(jsonb_build_array(l.sku, l.quantity, l.unit_price_cents) ORDER BY l.line_no), '[]')
	 FROM order_overview_lines l WHERE l.order_id = o.id)
	FROM order_overview o `

// OpenPersonalData has the queries open the personal data they show with keys, and
// returns them.
func (q *Queries) OpenPersonalData(keys *personaldata.Keys) *Queries {
	q.UsePersonalData(keys)
	return q
}

// ListOrders lists order_overview by its filters.
func (q *Queries) ListOrders(ctx context.Context, l application.ListOrders) (application.OrderPage, error) {
	var f aggregatestore.Filter
	if l.Status != order.StatusNone {
		f.Equal("o.status", string(l.Status))
	}
	if l.CustomerID != "" {
		f.Equal("o.customer_id", l.CustomerID)
	}
	return q.List(ctx, f, l.After, l.Limit)
}

func scanOverview(rows pgx.Rows) (application.OrderView, error) {
	var v application.OrderView
	var status string
	var lines, contact []byte
	if err := rows.Scan(&v.State.ID, &v.State.CustomerID, &status, &v.State.Currency, &v.State.TotalCents, &v.State.UnitCount, &v.Version,
		&v.State.PlacedAt, &v.State.UpdatedAt, &contact, &lines); err != nil {
		return v, err
	}
	if contact != nil {
		if err := json.Unmarshal(contact, &v.State.Contact); err != nil {
			return v, fmt.Errorf("order %s: contact: %w", v.State.ID, err)
		}
	}
	v.State.Status = order.Status(status)
	v.State.PlacedAt, v.State.UpdatedAt = v.State.PlacedAt.UTC(), v.State.UpdatedAt.UTC()
	var raw [][3]json.RawMessage
	if err := json.Unmarshal(lines, &raw); err != nil {
		return v, fmt.Errorf("order %s: lines: %w", v.State.ID, err)
	}
	for _, l := range raw {
		var line order.Line
		if err := errors.Join(json.Unmarshal(l[0], &line.SKU), json.Unmarshal(l[1], &line.Quantity), json.Unmarshal(l[2], &line.UnitPriceCents)); err != nil {
			return v, fmt.Errorf("order %s: line: %w", v.State.ID, err)
		}
		v.State.Lines = append(v.State.Lines, line)
	}
	return v, nil
}
