package shipmentstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/verify"
)

// ReadModel registers shipment_overview with `orders verify` and `orders rebuild`:
// Rebuild replays project, Verify compares each row with what shipment.Decider folds
// from the events.
func ReadModel(codec *eventcodec.Registry[shipment.Event]) verify.ReadModel {
	return verify.For(verify.Definition[shipment.Event, *overviewRow]{
		Name: "shipment_overview", StreamType: StreamType, Tables: []string{"shipment_overview"},
		Codec: codec, Project: project, Expect: expectOverview, Load: loadOverview, Compare: compareOverview,
	})
}

type overviewRow struct {
	OrderID    uuid.UUID
	CustomerID string
	Status     string
	Carrier    string
	TrackingNo string
	Items      []shipment.Item
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// expectOverview is the row the projection must hold for these events; a stream that
// creates no shipment has none (nil).
func expectOverview(_ uuid.UUID, events []application.RecordedEvent[shipment.Event]) (*overviewRow, error) {
	decoded := make([]shipment.Event, len(events))
	for i, r := range events {
		decoded[i] = r.Event
	}
	st := shipment.Decider.Fold(shipment.Decider.Initial, decoded...)
	if !st.Exists() {
		return nil, nil
	}
	return &overviewRow{
		OrderID: st.OrderID, CustomerID: st.CustomerID, Status: string(st.Status), Carrier: st.Carrier, TrackingNo: st.TrackingNo,
		Items: st.Items, Version: events[len(events)-1].Version,
		CreatedAt: verify.DBTime(st.CreatedAt), UpdatedAt: verify.DBTime(st.UpdatedAt),
	}, nil
}

func loadOverview(b *pgx.Batch, ids []uuid.UUID, found func(uuid.UUID) **overviewRow) {
	b.Queue(`SELECT id, order_id, customer_id, status, coalesce(carrier, ''), coalesce(tracking_no, ''), items, version, created_at, updated_at
		FROM shipment_overview WHERE id = ANY($1::uuid[])`, ids).Query(func(r pgx.Rows) error {
		var id uuid.UUID
		var row overviewRow
		var items []byte
		_, err := pgx.ForEachRow(r, []any{&id, &row.OrderID, &row.CustomerID, &row.Status, &row.Carrier, &row.TrackingNo, &items,
			&row.Version, &row.CreatedAt, &row.UpdatedAt}, func() error {
			row := row
			if err := json.Unmarshal(items, &row.Items); err != nil {
				row.Items = []shipment.Item{{SKU: "unreadable items: " + err.Error()}}
			}
			*found(id) = &row
			return nil
		})
		return err
	})
}

func compareOverview(want, found *overviewRow, d verify.Diff) {
	if !verify.Rows(d, "shipment_overview", "the events create no shipment", want, found, func(r *overviewRow) int64 { return r.Version }) {
		return
	}
	d.Word("order_id", want.OrderID.String(), found.OrderID.String())
	d.Text("customer_id", want.CustomerID, found.CustomerID)
	d.Word("status", want.Status, found.Status)
	d.Text("carrier", want.Carrier, found.Carrier)
	d.Text("tracking_no", want.TrackingNo, found.TrackingNo)
	d.Number("version", want.Version, found.Version)
	d.Instant("created_at", want.CreatedAt, found.CreatedAt)
	d.Instant("updated_at", want.UpdatedAt, found.UpdatedAt)
	d.Number("items.count", int64(len(want.Items)), int64(len(found.Items)))
	for i := range min(len(want.Items), len(found.Items)) {
		d.Text(fmt.Sprintf("items[%d].sku", i), want.Items[i].SKU, found.Items[i].SKU)
		d.Number(fmt.Sprintf("items[%d].quantity", i), int64(want.Items[i].Quantity), int64(found.Items[i].Quantity))
	}
}
