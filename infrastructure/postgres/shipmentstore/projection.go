package shipmentstore

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// The shipment_overview projection. Every statement applies an event only if the row
// is below the event's version, so applying an event twice changes nothing; it runs in
// the appending transaction, so the row is never behind a committed event.
var projectCreated = `INSERT INTO shipment_overview (id, order_id, customer_id, status, items, version, created_at, updated_at, ship_to)
		SELECT $1, $2, $6, 'pending', $3::jsonb, $4, $5, $5, ` + personaldata.FromEvent(StreamType, "ship_to", "$1", "$4") + `
		WHERE NOT EXISTS (SELECT 1 FROM shipment_overview WHERE id = $1)`

const (
	projectDispatched = `UPDATE shipment_overview SET status = 'dispatched', carrier = $2, tracking_no = $3, version = $4, updated_at = $5
		WHERE id = $1 AND version < $4`
	projectStatus = `UPDATE shipment_overview SET status = $2, version = $3, updated_at = $4
		WHERE id = $1 AND version < $3`
)

func project(tx aggregatestore.Queue, id uuid.UUID, events []appkit.RecordedEvent[shipment.Event]) error {
	for _, r := range events {
		switch e := r.Event.(type) {
		case shipment.ShipmentCreated:
			items, err := json.Marshal(e.Items)
			if err != nil {
				return fmt.Errorf("project shipment %s: items: %w", id, err)
			}
			tx.Defer(projectCreated, id, e.OrderID, string(items), r.Version, e.CreatedAt, e.CustomerID)
		case shipment.ShipmentDispatched:
			tx.Defer(projectDispatched, id, e.Carrier, e.TrackingNo, r.Version, e.DispatchedAt)
		case shipment.ShipmentDelivered:
			tx.Defer(projectStatus, id, string(shipment.StatusDelivered), r.Version, e.DeliveredAt)
		case shipment.ShipmentCancelled:
			tx.Defer(projectStatus, id, string(shipment.StatusCancelled), r.Version, e.CancelledAt)
		default:
			return fmt.Errorf("project shipment %s: no projection for %T", id, r.Event)
		}
	}
	return nil
}
