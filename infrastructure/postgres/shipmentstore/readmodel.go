package shipmentstore

import (
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/verify"
)

// ReadModel registers shipment_overview with `orders verify` and `orders rebuild`:
// Rebuild replays project, Verify compares each row with what shipment.Decider folds
// from the events.
func ReadModel(codec *eventcodec.Registry[shipment.Event]) verify.ReadModel {
	return verify.For(verify.Definition[shipment.Event, overview]{
		Name: "shipment_overview", StreamType: StreamType, NoRow: "the events create no shipment",
		Codec: codec, Project: project, Expect: expectOverview,
	})
}

// overview is what the read model holds for one shipment: no row (nil) or one.
// Verify compares every column with the field of the same name (db tag); a column
// without one is reported on every row.
type overview struct {
	Row *overviewRow `verify:"shipment_overview"`
}

type overviewRow struct {
	OrderID    uuid.UUID       `db:"order_id"`
	CustomerID string          `db:"customer_id"`
	Status     string          `db:"status,word"`
	Carrier    *string         `db:"carrier"`     // NULL until dispatched
	TrackingNo *string         `db:"tracking_no"` // NULL until dispatched
	Items      []shipment.Item `db:"items"`
	Version    int64           `db:"version"`
	CreatedAt  time.Time       `db:"created_at"`
	UpdatedAt  time.Time       `db:"updated_at"`
	// ShipTo is sealed, as in the log: compared without a key, clean after an erasure.
	ShipTo *kit.Personal[shipment.ShipTo] `db:"ship_to"`
}

// expectOverview is the row the projection must hold for these events; a stream that
// creates no shipment has none (nil).
func expectOverview(_ uuid.UUID, events []appkit.RecordedEvent[shipment.Event]) (overview, error) {
	v := appkit.Fold(shipment.Decider, events)
	st := v.State
	if !st.Exists() {
		return overview{}, nil
	}
	o := overview{Row: &overviewRow{
		OrderID: st.OrderID, CustomerID: st.CustomerID, Status: string(st.Status),
		Carrier: nullIfEmpty(st.Carrier), TrackingNo: nullIfEmpty(st.TrackingNo),
		Items: st.Items, Version: v.Version,
		CreatedAt: verify.DBTime(st.CreatedAt), UpdatedAt: verify.DBTime(st.UpdatedAt),
	}}
	if st.ShipTo.IsSet() {
		o.Row.ShipTo = &st.ShipTo
	}
	return o, nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
