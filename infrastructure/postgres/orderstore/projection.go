package orderstore

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// The order_overview projection. Every statement applies an event only if the row is
// below the event's version, so applying an event twice changes nothing; and it runs in
// the appending transaction, so the row is never behind a committed event.
var projectPlaced = `INSERT INTO order_overview (id, customer_id, status, currency, total_cents, unit_count, version, placed_at, updated_at, contact)
		SELECT $1, $2, 'pending', $3, 0, 0, $4, $5, $5, ` + personaldata.FromEvent(StreamType, "contact", "$1", "$4") + `
		WHERE NOT EXISTS (SELECT 1 FROM order_overview WHERE id = $1)`

const (
	projectLineAdded = `WITH moved AS (
			UPDATE order_overview
			SET total_cents = total_cents + $3::bigint * $4::bigint, unit_count = unit_count + $3, version = $5, updated_at = $6
			WHERE id = $1 AND version < $5
			RETURNING id)
		INSERT INTO order_overview_lines (order_id, line_no, sku, quantity, unit_price_cents)
		SELECT id, $5, $2, $3, $4 FROM moved`
	projectStatus = `UPDATE order_overview SET status = $2, version = $3, updated_at = $4
		WHERE id = $1 AND version < $3`
)

// project queues one statement per event on the transaction; they run just before its
// COMMIT, in the same round trip.
func project(tx aggregatestore.Queue, id uuid.UUID, events []appkit.RecordedEvent[order.Event]) error {
	for _, r := range events {
		switch e := r.Event.(type) {
		case order.OrderPlaced:
			tx.Defer(projectPlaced, id, e.CustomerID, e.Currency, r.Version, e.PlacedAt)
		case order.OrderLineAdded:
			tx.Defer(projectLineAdded, id, e.SKU, e.Quantity, e.UnitPriceCents, r.Version, e.AddedAt)
		case order.OrderConfirmed:
			tx.Defer(projectStatus, id, string(order.StatusConfirmed), r.Version, e.ConfirmedAt)
		case order.OrderCancelled:
			tx.Defer(projectStatus, id, string(order.StatusCancelled), r.Version, e.CancelledAt)
		default:
			return fmt.Errorf("project order %s: no projection for %T", id, r.Event)
		}
	}
	return nil
}
