package orderstore

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/verify"
)

// ReadModel registers order_overview (with order_overview_lines) with `orders verify`
// and `orders rebuild`: Rebuild replays project, Verify compares the rows with what
// order.Fold makes of the events.
func ReadModel(codec *eventcodec.Registry[order.Event]) verify.ReadModel {
	return verify.For(verify.Definition[order.Event, overview]{
		Name: "order_overview", StreamType: StreamType, Tables: []string{"order_overview_lines", "order_overview"},
		Codec: codec, Project: project, Expect: expectOverview, Load: loadOverview, Compare: compareOverview,
		CheckEvent: checkOrderEvent,
	})
}

// overview is what the read model holds for one order: no row (nil) or a row and its
// lines in line_no order.
type overview struct {
	row   *overviewRow
	lines []lineRow
}

type overviewRow struct {
	CustomerID string
	Status     string
	Currency   string
	TotalCents int64
	UnitCount  int64
	Version    int64
	PlacedAt   time.Time
	UpdatedAt  time.Time
}

type lineRow struct {
	LineNo         int64
	SKU            string
	Quantity       int64
	UnitPriceCents int64
}

// checkOrderEvent: an order is placed by its first event, and by no other, with its own id.
func checkOrderEvent(id uuid.UUID, n int64, e application.RecordedEvent[order.Event], d verify.Diff) {
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
func expectOverview(id uuid.UUID, events []application.RecordedEvent[order.Event]) (overview, error) {
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
	o := overview{row: &overviewRow{
		CustomerID: st.CustomerID, Status: string(st.Status), Currency: st.Currency,
		TotalCents: st.TotalCents, UnitCount: int64(st.UnitCount), Version: events[len(events)-1].Version,
		PlacedAt: verify.DBTime(st.PlacedAt), UpdatedAt: verify.DBTime(st.UpdatedAt),
	}}
	o.lines = make([]lineRow, len(st.Lines))
	for i, l := range st.Lines {
		o.lines[i] = lineRow{LineNo: lineVersions[i], SKU: l.SKU, Quantity: int64(l.Quantity), UnitPriceCents: l.UnitPriceCents}
	}
	return o, nil
}

func loadOverview(b *pgx.Batch, ids []uuid.UUID, found func(uuid.UUID) *overview) {
	b.Queue(`SELECT id, customer_id, status, currency, total_cents, unit_count, version, placed_at, updated_at
		FROM order_overview WHERE id = ANY($1::uuid[])`, ids).Query(func(r pgx.Rows) error {
		var id uuid.UUID
		var row overviewRow
		_, err := pgx.ForEachRow(r, []any{&id, &row.CustomerID, &row.Status, &row.Currency, &row.TotalCents,
			&row.UnitCount, &row.Version, &row.PlacedAt, &row.UpdatedAt}, func() error {
			row := row
			found(id).row = &row
			return nil
		})
		return err
	})
	b.Queue(`SELECT order_id, line_no, sku, quantity, unit_price_cents
		FROM order_overview_lines WHERE order_id = ANY($1::uuid[])
		ORDER BY order_id, line_no`, ids).Query(func(r pgx.Rows) error {
		var id uuid.UUID
		var l lineRow
		_, err := pgx.ForEachRow(r, []any{&id, &l.LineNo, &l.SKU, &l.Quantity, &l.UnitPriceCents}, func() error {
			o := found(id)
			o.lines = append(o.lines, l)
			return nil
		})
		return err
	})
}

func compareOverview(want, found overview, d verify.Diff) {
	if !verify.Rows(d, "order_overview", "the events place no order", want.row, found.row, func(r *overviewRow) int64 { return r.Version }) {
		return
	}
	w, f := want.row, found.row
	d.Text("customer_id", w.CustomerID, f.CustomerID)
	d.Word("status", w.Status, f.Status)
	d.Word("currency", w.Currency, f.Currency)
	d.Number("total_cents", w.TotalCents, f.TotalCents)
	d.Number("unit_count", w.UnitCount, f.UnitCount)
	d.Number("version", w.Version, f.Version)
	d.Instant("placed_at", w.PlacedAt, f.PlacedAt)
	d.Instant("updated_at", w.UpdatedAt, f.UpdatedAt)

	// Both sides are in line_no order: merge them.
	wl, fl := want.lines, found.lines
	i, j := 0, 0
	for i < len(wl) || j < len(fl) {
		switch {
		case j == len(fl) || i < len(wl) && wl[i].LineNo < fl[j].LineNo:
			d.Report(fmt.Sprintf("lines[%d]", wl[i].LineNo), describeLine(wl[i]), "no line")
			i++
		case i == len(wl) || fl[j].LineNo < wl[i].LineNo:
			d.Report(fmt.Sprintf("lines[%d]", fl[j].LineNo), "no line", describeLine(fl[j]))
			j++
		default:
			prefix := fmt.Sprintf("lines[%d].", wl[i].LineNo)
			d.Text(prefix+"sku", wl[i].SKU, fl[j].SKU)
			d.Number(prefix+"quantity", wl[i].Quantity, fl[j].Quantity)
			d.Number(prefix+"unit_price_cents", wl[i].UnitPriceCents, fl[j].UnitPriceCents)
			i++
			j++
		}
	}
	d.Number("lines.count", int64(len(wl)), int64(len(fl)))
}

func describeLine(l lineRow) string {
	return fmt.Sprintf("sku %q, quantity %d, unit_price_cents %d", l.SKU, l.Quantity, l.UnitPriceCents)
}
