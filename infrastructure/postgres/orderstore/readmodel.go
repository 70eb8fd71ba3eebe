package orderstore

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/verify"
)

// ReadModel registers order_overview (with order_overview_lines) with `orders verify`
// and `orders rebuild`: Rebuild replays project, Verify compares the rows with what
// order.Fold makes of the events.
func ReadModel(codec *eventcodec.Registry[order.Event]) verify.ReadModel {
	return verify.For(verify.Definition[order.Event, overview]{
		Name: "order_overview", StreamType: StreamType, NoRow: "the events place no order",
		Codec: codec, Project: project, Expect: expectOverview, CheckEvent: checkOrderEvent,
	})
}

// overview is what the read model holds for one order: no row (nil) or a row and its
// lines in line_no order. Verify compares every column of both tables with the field
// of the same name (db tag); a column without one is reported on every row.
type overview struct {
	Row   *overviewRow `verify:"order_overview"`
	Lines []lineRow    `verify:"order_overview_lines,stream=order_id,key=line_no,as=lines"`
}

type overviewRow struct {
	CustomerID string    `db:"customer_id"`
	Status     string    `db:"status,word"`
	Currency   string    `db:"currency,word"`
	TotalCents int64     `db:"total_cents"`
	UnitCount  int64     `db:"unit_count"`
	Version    int64     `db:"version"`
	PlacedAt   time.Time `db:"placed_at"`
	UpdatedAt  time.Time `db:"updated_at"`
	// Contact is sealed, as in the log: verify compares ciphertexts, so it needs no key
	// and stays clean after an erasure.
	Contact *kit.Personal[order.Contact] `db:"contact"`
}

type lineRow struct {
	LineNo         int64  `db:"line_no"`
	SKU            string `db:"sku"`
	Quantity       int64  `db:"quantity"`
	UnitPriceCents int64  `db:"unit_price_cents"`
}

// checkOrderEvent: an order is placed by its first event, and by no other, with its own id.
func checkOrderEvent(id uuid.UUID, n int64, e appkit.RecordedEvent[order.Event], d verify.Diff) {
	placed, isPlaced := e.Event.(order.OrderPlaced)
	switch {
	case n == 1 && !isPlaced:
		d.Report(fmt.Sprintf("event[%d].type", e.Version), "OrderPlaced", e.Type)
	case n > 1 && isPlaced:
		d.Report(fmt.Sprintf("event[%d].type", e.Version), "anything but OrderPlaced (the order is placed by its first event)", e.Type)
	}
	if isPlaced && placed.OrderID != id {
		d.Report(fmt.Sprintf("event[%d].order_id", e.Version), id.String(), placed.OrderID.String())
	}
}

// expectOverview is what the projection must write for an order with these events:
// order.Fold's state, the version of the last event, and each line numbered by the
// version of the event that added it. PostgreSQL keeps microseconds, so times are
// truncated as the projection's writes are. An order that was never placed has no row.
func expectOverview(id uuid.UUID, events []appkit.RecordedEvent[order.Event]) (overview, error) {
	decoded := make([]order.Event, len(events))
	var lineVersions []int64
	for i, r := range events {
		decoded[i] = r.Event
		if _, ok := r.Event.(order.OrderLineAdded); ok {
			lineVersions = append(lineVersions, r.Version)
		}
	}
	st := order.Decider.Fold(order.Decider.Initial, decoded...)
	if !st.Exists() {
		return overview{}, nil
	}
	if len(st.Lines) != len(lineVersions) {
		return overview{}, fmt.Errorf("order %s: the fold made %d lines from %d OrderLineAdded events", id, len(st.Lines), len(lineVersions))
	}
	o := overview{Row: &overviewRow{
		CustomerID: st.CustomerID, Status: string(st.Status), Currency: st.Currency,
		TotalCents: st.TotalCents, UnitCount: int64(st.UnitCount), Version: events[len(events)-1].Version,
		PlacedAt: verify.DBTime(st.PlacedAt), UpdatedAt: verify.DBTime(st.UpdatedAt),
	}}
	if st.Contact.IsSet() {
		o.Row.Contact = &st.Contact
	}
	o.Lines = make([]lineRow, len(st.Lines))
	for i, l := range st.Lines {
		o.Lines[i] = lineRow{LineNo: lineVersions[i], SKU: l.SKU, Quantity: int64(l.Quantity), UnitPriceCents: l.UnitPriceCents}
	}
	return o, nil
}
