package customersummary

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/orderstore"
)

// orderRow is one order as customer_summary keeps it.
type orderRow struct {
	Customer, Currency, Status string
	Total                      int64
}

// Verify folds the order events up to the position the active version reflects and
// compares the result with its table, calling report for each difference. It reads in
// one REPEATABLE READ snapshot so that the table and the checkpoint agree. It returns
// the number of orders compared; a read model not built yet compares none.
func Verify(ctx context.Context, pool *pgxpool.Pool, codec *eventcodec.Registry[order.Event], report func(string)) (int, error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	r := NewReader(tx)
	v, err := r.active(ctx)
	if err != nil || v == 0 {
		return 0, err
	}
	pos, err := r.Position(ctx)
	if err != nil {
		return 0, err
	}
	// Exactly the events the consumer has handled: those up to its checkpoint.
	want := map[string]*orderRow{}
	rows, err := tx.Query(ctx, `SELECT e.stream_id, e.event_type, e.schema_version, e.payload
		FROM events e WHERE e.stream_type = $1 AND e.global_position <= $2
		ORDER BY e.global_position`, orderstore.StreamType, pos)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id, typ string
		var schema int
		var payload []byte
		if err := rows.Scan(&id, &typ, &schema, &payload); err != nil {
			return 0, err
		}
		ev, err := codec.Decode(typ, schema, payload)
		if err != nil {
			return 0, fmt.Errorf("order %s: %w", id, err)
		}
		o := want[id]
		switch ev := ev.(type) {
		case order.OrderPlaced:
			want[id] = &orderRow{Customer: ev.CustomerID, Currency: ev.Currency, Status: "pending"}
		case order.OrderLineAdded:
			if o != nil {
				o.Total += int64(ev.Quantity) * ev.UnitPriceCents
			}
		case order.OrderConfirmed:
			if o != nil {
				o.Status = "confirmed"
			}
		case order.OrderCancelled:
			if o != nil {
				o.Status = "cancelled"
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	found := map[string]orderRow{}
	rows, err = tx.Query(ctx, `SELECT order_id::text, customer_id, currency, status, total_cents FROM `+pgx.Identifier{Table(v)}.Sanitize())
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id string
		var o orderRow
		if err := rows.Scan(&id, &o.Customer, &o.Currency, &o.Status, &o.Total); err != nil {
			return 0, err
		}
		found[id] = o
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for id, w := range want {
		f, ok := found[id]
		switch {
		case !ok:
			report(fmt.Sprintf("%s order %s: missing (expected %+v)", Table(v), id, *w))
		case f != *w:
			report(fmt.Sprintf("%s order %s: expected %+v, found %+v", Table(v), id, *w, f))
		}
	}
	for id, f := range found {
		if _, ok := want[id]; !ok {
			report(fmt.Sprintf("%s order %s: not in the log up to position %d, found %+v", Table(v), id, pos, f))
		}
	}
	return len(want), nil
}
