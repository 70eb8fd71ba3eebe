// Package customersummary is the customer_summary read model: per customer, the orders
// placed, confirmed and cancelled and the confirmed totals per currency. It is updated
// asynchronously by a projection consumer (infrastructure/postgres/subscription), not
// in the command's transaction, so a read states the log position it reflects and can
// wait for a given one (read-your-writes across the async boundary).
//
// It is versioned blue/green: the rows of version N live in customer_summary_vN and its
// consumer is customer_summary_vN. Bumping Version builds the new table from position 0
// in the background while reads use the active version (read_model_versions); when the
// new consumer has caught up it becomes active, and the old table and checkpoint are
// dropped DropAfter later.
package customersummary

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
)

// Name is the read model's name; Version the one this code builds. Bump Version when
// the table's shape or meaning changes: the new version is built beside the old one.
const (
	Name    = "customer_summary"
	Version = 2
)

// DropAfter is how long an old version's table is kept after the switch, for replicas
// still running the old code during a rolling deploy.
var DropAfter = 10 * time.Minute

// Table is the table of version v, ConsumerName its consumer.
func Table(v int) string        { return Name + "_v" + strconv.Itoa(v) }
func ConsumerName(v int) string { return Table(v) }

// Consumer is the projection of version Version. Each row is one order (its customer,
// currency, total and status) with the version of the last event applied to it: an
// event applies only as the next version, so applying one twice (after `consumers
// reset`) changes nothing, and a version that skips one stops the consumer.
func Consumer(codec *eventcodec.Registry[order.Event]) subscription.Consumer {
	return consumerFor(Version, codec)
}

func consumerFor(v int, codec *eventcodec.Registry[order.Event]) subscription.Consumer {
	table := pgx.Identifier{Table(v)}.Sanitize()
	return subscription.Consumer{
		Name: ConsumerName(v),
		Setup: func(ctx context.Context, conn *pgx.Conn) error {
			// A migration creates the table (the service's role runs no DDL); a
			// connection that may (tests, tools, a single-role setup) creates a missing
			// version itself.
			var exists bool
			if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, Table(v)).Scan(&exists); err != nil {
				return err
			}
			if exists {
				_, err := conn.Exec(ctx, `INSERT INTO read_model_versions (name, active) VALUES ($1, $2) ON CONFLICT DO NOTHING`, Name, v)
				return err
			}
			_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
				order_id      uuid   PRIMARY KEY,
				customer_id   text   NOT NULL,
				currency      text   NOT NULL,
				total_cents   bigint NOT NULL DEFAULT 0,
				status        text   NOT NULL,
				last_version  bigint NOT NULL
			);
			CREATE INDEX IF NOT EXISTS `+pgx.Identifier{Table(v) + "_customer"}.Sanitize()+` ON `+table+` (customer_id);
			INSERT INTO read_model_versions (name, active) VALUES ('`+Name+`', `+strconv.Itoa(v)+`) ON CONFLICT DO NOTHING`)
			return err
		},
		Project: func(e eventstore.RecordedEvent, q subscription.Queue) error {
			id, ev, ok, err := orderstore.DecodeEvent(codec, e)
			if !ok || err != nil {
				return err
			}
			name := ConsumerName(v)
			switch ev := ev.(type) {
			case order.OrderPlaced:
				q.Queue(`INSERT INTO `+table+` (order_id, customer_id, currency, status, last_version)
					VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (order_id) DO NOTHING`, id, ev.CustomerID, ev.Currency, e.Version)
			case order.OrderLineAdded:
				q.Queue(next(table, `total_cents = total_cents + $4`), id, e.Version, name, int64(ev.Quantity)*ev.UnitPriceCents)
			case order.OrderConfirmed:
				q.Queue(next(table, `status = 'confirmed'`), id, e.Version, name)
			case order.OrderCancelled:
				q.Queue(next(table, `status = 'cancelled'`), id, e.Version, name)
			}
			return nil
		},
		CaughtUp: switchOnCatchUp(v),
	}
}

// next is the statement that applies set to order $1's row as its version $2, only if
// the row is at the version before: a version already applied changes nothing, and one
// further ahead (a version never applied, or no row at all) raises ES412 through
// read_model_out_of_order (migration 00012) with $3, the consumer's name, so that the
// consumer stops there. The CTE's update runs whatever the outer query reads; the
// outer query sees the row as it was before it.
func next(table, set string) string {
	return `WITH applied AS (UPDATE ` + table + ` SET ` + set + `, last_version = $2 WHERE order_id = $1 AND last_version = $2 - 1 RETURNING 1)
		SELECT read_model_out_of_order($3, 'order ' || $1::text, r.at, $2)
		FROM (SELECT coalesce((SELECT last_version FROM ` + table + ` WHERE order_id = $1), 0) AS at) r
		WHERE r.at < $2 - 1`
}

// switchOnCatchUp is version v's CaughtUp hook: switchTo, called after every read that
// emptied the log. It remembers what is settled, so that a consumer keeping up with a
// steady write load does not write read_model_versions after every batch.
func switchOnCatchUp(v int) func(context.Context, *pgx.Conn, int64) error {
	settled, next := false, time.Time{}
	return func(ctx context.Context, conn *pgx.Conn, _ int64) error {
		if settled || time.Now().Before(next) {
			return nil
		}
		var wait time.Duration
		var err error
		settled, wait, err = switchTo(ctx, conn, v)
		next = time.Now().Add(wait)
		return err
	}
}

// switchTo makes version v the active one once its consumer has caught up (it is
// called then), and drops versions older than the active one DropAfter after the
// switch. It reports whether nothing is left to do, or else how long until the drop is
// due.
func switchTo(ctx context.Context, conn *pgx.Conn, v int) (settled bool, wait time.Duration, err error) {
	var active int
	var switchedAt time.Time
	if err := conn.QueryRow(ctx, `SELECT active, switched_at FROM read_model_versions WHERE name = $1`, Name).Scan(&active, &switchedAt); err != nil {
		return false, 0, err
	}
	if active < v {
		if err := conn.QueryRow(ctx, `UPDATE read_model_versions
			SET active = greatest(active, $2), switched_at = CASE WHEN active < $2 THEN now() ELSE switched_at END
			WHERE name = $1 RETURNING active, switched_at`, Name, v).Scan(&active, &switchedAt); err != nil {
			return false, 0, err
		}
	}
	if active != v {
		return true, 0, nil // a newer version is active; this one never will be again
	}
	if since := time.Since(switchedAt); since < DropAfter {
		return false, DropAfter - since, nil
	}
	for old := v - 1; old >= 1; old-- {
		// Only the table's owner may drop it; the service's least-privilege role is not,
		// and leaves the drop to a migration (docs/architecture.md).
		var exists, mayDrop bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL,
				coalesce((SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass($1)), false)`,
			Table(old)).Scan(&exists, &mayDrop); err != nil {
			return false, 0, err
		}
		if !exists || !mayDrop {
			break
		}
		// Table and checkpoint go together, or neither does.
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{Table(old)}.Sanitize()); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM consumer_checkpoints WHERE name = $1`, ConsumerName(old))
			return err
		}); err != nil {
			return false, 0, err
		}
	}
	return true, 0, nil
}

// Reader answers customer_summary queries from the active version.
type Reader struct{ db eventstore.DBTX }

// NewReader returns a Reader on db (a pool).
func NewReader(db eventstore.DBTX) *Reader { return &Reader{db: db} }

// ErrNotBuilt means no version of the read model exists yet (its consumer has not run).
var ErrNotBuilt = errors.New("customer_summary has not been built yet")

func (r *Reader) active(ctx context.Context) (int, error) {
	var v int
	err := r.db.QueryRow(ctx, `SELECT active FROM read_model_versions WHERE name = $1`, Name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, postgres.Classify(err)
}

// Position is the log position the active version reflects: every event at or below it
// (its consumer's watermark, the lowest checkpoint of its partitions); 0 before it
// exists.
func (r *Reader) Position(ctx context.Context) (int64, error) {
	var pos int64
	err := r.db.QueryRow(ctx, `SELECT coalesce((SELECT min(c.position) FROM read_model_versions v
		JOIN consumer_checkpoints c ON c.name = v.name || '_v' || v.active WHERE v.name = $1), 0)`, Name).Scan(&pos)
	return pos, postgres.Classify(err)
}

// CustomerSummary returns the customer's summary and the position it reflects, read
// in one statement so that they agree. A customer without orders has zeros.
func (r *Reader) CustomerSummary(ctx context.Context, customerID string) (application.CustomerSummary, int64, error) {
	sum := application.CustomerSummary{CustomerID: customerID, ConfirmedTotals: map[string]int64{}}
	v, err := r.active(ctx)
	if err != nil || v == 0 {
		return sum, 0, err
	}
	rows, err := r.db.Query(ctx, `SELECT c.position, s.currency, s.placed, s.confirmed, s.cancelled, s.confirmed_total
		FROM (SELECT min(position) AS position FROM consumer_checkpoints WHERE name = $2) c LEFT JOIN (
			SELECT currency, count(*) AS placed,
				count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
				count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
				coalesce(sum(total_cents) FILTER (WHERE status = 'confirmed'), 0)::bigint AS confirmed_total
			FROM `+pgx.Identifier{Table(v)}.Sanitize()+` WHERE customer_id = $1 GROUP BY currency) s ON true
		WHERE c.position IS NOT NULL`, customerID, ConsumerName(v))
	if err != nil {
		return sum, 0, postgres.Classify(err)
	}
	defer rows.Close()
	var pos int64
	for rows.Next() {
		var currency *string
		var placed, confirmed, cancelled, total *int64
		if err := rows.Scan(&pos, &currency, &placed, &confirmed, &cancelled, &total); err != nil {
			return sum, 0, postgres.Classify(err)
		}
		if currency == nil {
			continue
		}
		sum.OrdersPlaced += *placed
		sum.OrdersConfirmed += *confirmed
		sum.OrdersCancelled += *cancelled
		if *confirmed > 0 {
			sum.ConfirmedTotals[*currency] = *total
		}
	}
	return sum, pos, postgres.Classify(rows.Err())
}
