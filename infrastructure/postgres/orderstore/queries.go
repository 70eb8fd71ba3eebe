package orderstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// Queries implements application.OrderQueries: order_overview, and the store's streams
// for history.
type Queries struct {
	pool   *pgxpool.Pool
	events *Store
}

func NewQueries(pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event]) *Queries {
	return &Queries{pool: pool, events: NewStoreWithCache(pool, codec, 0)}
}

const selectOverview = `SELECT o.id, o.customer_id, o.status, o.currency, o.total_cents, o.unit_count, o.version,
	o.placed_at, o.updated_at,
	(SELECT coalesce(jsonb_agg(jsonb_build_array(l.sku, l.quantity, l.unit_price_cents) ORDER BY l.line_no), '[]')
	 FROM order_overview_lines l WHERE l.order_id = o.id)
	FROM order_overview o `

func (q *Queries) ByID(ctx context.Context, id uuid.UUID) (application.OrderView, error) {
	rows, err := q.pool.Query(ctx, selectOverview+`WHERE o.id = $1`, id)
	if err != nil {
		return application.OrderView{}, postgres.Classify(err)
	}
	views, err := scanOverviews(rows)
	if err != nil {
		return application.OrderView{}, postgres.Classify(err)
	}
	if len(views) == 0 {
		return application.OrderView{}, order.ErrNotFound
	}
	return views[0], nil
}

// ListOrders builds its WHERE clause from fixed fragments (never from request text), so
// each filter combination gets a plan that can use its index.
func (q *Queries) ListOrders(ctx context.Context, l application.ListOrders) (application.OrderPage, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if l.Status != order.StatusNone {
		where = append(where, "o.status = "+arg(string(l.Status)))
	}
	if l.CustomerID != "" {
		where = append(where, "o.customer_id = "+arg(l.CustomerID))
	}
	if l.After != nil {
		where = append(where, fmt.Sprintf("(o.placed_at, o.id) < (%s, %s)", arg(l.After.At), arg(l.After.ID)))
	}
	sql := selectOverview
	if len(where) > 0 {
		sql += "WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY o.placed_at DESC, o.id DESC LIMIT " + arg(l.Limit+1)
	rows, err := q.pool.Query(ctx, sql, args...)
	if err != nil {
		return application.OrderPage{}, postgres.Classify(err)
	}
	views, err := scanOverviews(rows)
	if err != nil {
		return application.OrderPage{}, postgres.Classify(err)
	}
	page := application.OrderPage{Items: views}
	if len(views) > l.Limit {
		page.Items = views[:l.Limit]
		last := page.Items[l.Limit-1]
		page.Next = &application.PageKey{At: last.State.PlacedAt, ID: last.State.ID}
	}
	return page, nil
}

func (q *Queries) Events(ctx context.Context, id uuid.UUID, r application.EventRange) ([]application.RecordedEvent[order.Event], error) {
	return q.events.History(ctx, id, eventstore.StreamRange{From: r.From, To: r.To, Until: r.Until})
}

func scanOverviews(rows pgx.Rows) ([]application.OrderView, error) {
	defer rows.Close()
	views := []application.OrderView{}
	for rows.Next() {
		var v application.OrderView
		var status string
		var lines []byte
		if err := rows.Scan(&v.State.ID, &v.State.CustomerID, &status, &v.State.Currency, &v.State.TotalCents, &v.State.UnitCount, &v.Version,
			&v.State.PlacedAt, &v.State.UpdatedAt, &lines); err != nil {
			return nil, err
		}
		v.State.Status = order.Status(status)
		v.State.PlacedAt, v.State.UpdatedAt = v.State.PlacedAt.UTC(), v.State.UpdatedAt.UTC()
		var raw [][3]json.RawMessage
		if err := json.Unmarshal(lines, &raw); err != nil {
			return nil, fmt.Errorf("order %s: lines: %w", v.State.ID, err)
		}
		for _, l := range raw {
			var line order.Line
			if err := errors.Join(json.Unmarshal(l[0], &line.SKU), json.Unmarshal(l[1], &line.Quantity), json.Unmarshal(l[2], &line.UnitPriceCents)); err != nil {
				return nil, fmt.Errorf("order %s: line: %w", v.State.ID, err)
			}
			v.State.Lines = append(v.State.Lines, line)
		}
		views = append(views, v)
	}
	return views, rows.Err()
}
