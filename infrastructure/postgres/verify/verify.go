package verify

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
)

// Difference is one thing the log and the read model (or the log and its own
// bookkeeping) disagree on. Stream names the stream; for an order it is {"order", order
// id}, also for an order_overview row that has no events. Expected is what the events
// say, Found what the database holds.
type Difference struct {
	Stream   eventstore.StreamID
	Field    string
	Expected string
	Found    string
}

// OrderID is the order the difference is about, if it is about an order.
func (d Difference) OrderID() (uuid.UUID, bool) {
	if d.Stream.Type != orderstore.StreamType {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(d.Stream.ID)
	return id, err == nil
}

// String is the line the CLI prints, e.g.
// "order 0192…: total_cents: expected 750, found 700".
func (d Difference) String() string {
	subject := "stream " + d.Stream.String()
	if d.Stream.Type == orderstore.StreamType {
		subject = "order " + d.Stream.ID
	}
	return fmt.Sprintf("%s: %s: expected %s, found %s", subject, d.Field, d.Expected, d.Found)
}

// Summary counts what Verify looked at.
type Summary struct {
	Streams     int64 // streams with events, of every stream type
	Events      int64
	Heads       int64 // aggregate_heads rows
	Rows        int64 // order_overview rows
	Lines       int64 // order_overview_lines rows compared with their events
	Differences int64
	Duration    time.Duration
}

func (s Summary) String() string {
	return fmt.Sprintf("verify: %d streams, %d events, %d read-model rows checked, %d differences",
		s.Streams, s.Events, s.Rows, s.Differences)
}

// Verify checks, and changes nothing:
//
//   - that every stream's versions run 1..n without gap or duplicate and its
//     aggregate_heads row says n; a head without events or events without a head are
//     differences;
//   - that every order stream decodes, starts with its OrderPlaced, and folds (with
//     order.Fold) into exactly its order_overview row (customer_id, status, currency,
//     total_cents, unit_count, version, placed_at, updated_at) and its
//     order_overview_lines rows (line_no = version of the OrderLineAdded, sku,
//     quantity, unit_price_cents, their number); a stream without a row and a row
//     without events are differences.
//
// report is called with each difference as it is found (it may be nil). The error is
// for failures to check at all (connection, missing schema); differences are not
// errors.
//
// Everything is read in one REPEATABLE READ, read-only transaction: commands write
// their events, the head and the read model in one transaction, so one snapshot shows
// all of a command's writes or none of them, and Verify is exact while the service
// keeps running. Being read-only, the transaction takes no transaction id, so it does
// not hold back eventstore.ReadAll's readers; it does hold back vacuum's horizon for
// as long as it runs.
func Verify(ctx context.Context, db DB, codec Codec, report func(Difference), opts ...Option) (Summary, error) {
	start := time.Now()
	o := optionsOf(opts)
	v := &verifier{o: o}
	v.report = func(d Difference) {
		v.sum.Differences++
		if report != nil {
			report(d)
		}
	}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return v.sum, fmt.Errorf("verify: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	v.tx = tx

	v.sum.Streams, v.sum.Events, err = readStreams(ctx, tx, codec, o, "", v.compare)
	if err == nil {
		err = v.orphanHeads(ctx)
	}
	if err == nil {
		err = v.orphanRows(ctx)
	}
	v.sum.Duration = time.Since(start)
	if err != nil {
		return v.sum, fmt.Errorf("verify: %w", err)
	}
	return v.sum, nil
}

type verifier struct {
	o      options
	tx     pgx.Tx
	sum    Summary
	report func(Difference)
}

const (
	selectHeads = `SELECT h.stream_type, h.stream_id, h.version
		FROM aggregate_heads h JOIN unnest($1::text[], $2::text[]) AS s(stream_type, stream_id)
		  ON h.stream_type = s.stream_type AND h.stream_id = s.stream_id`
	selectRows = `SELECT id, customer_id, status, currency, total_cents, unit_count, version, placed_at, updated_at
		FROM order_overview WHERE id = ANY($1::uuid[])`
	selectLines = `SELECT order_id, line_no, sku, quantity, unit_price_cents
		FROM order_overview_lines WHERE order_id = ANY($1::uuid[])
		ORDER BY order_id, line_no`
)

// compare checks a batch of complete streams against their heads and read-model rows,
// looked up for the whole batch in one round trip.
func (v *verifier) compare(ctx context.Context, streams []*stream) error {
	types, ids := make([]string, len(streams)), make([]string, len(streams))
	var orders []uuid.UUID
	for i, s := range streams {
		types[i], ids[i] = s.id.Type, s.id.ID
		if s.comparable {
			orders = append(orders, s.orderID)
		}
	}
	b := &pgx.Batch{}
	heads := map[eventstore.StreamID]int64{}
	rows := map[uuid.UUID]overviewRow{}
	lines := map[uuid.UUID][]lineRow{}
	b.Queue(selectHeads, types, ids).Query(func(r pgx.Rows) error {
		var id eventstore.StreamID
		var version int64
		_, err := pgx.ForEachRow(r, []any{&id.Type, &id.ID, &version}, func() error { heads[id] = version; return nil })
		return err
	})
	if len(orders) > 0 {
		b.Queue(selectRows, orders).Query(func(r pgx.Rows) error {
			var row overviewRow
			_, err := pgx.ForEachRow(r, []any{&row.ID, &row.CustomerID, &row.Status, &row.Currency, &row.TotalCents,
				&row.UnitCount, &row.Version, &row.PlacedAt, &row.UpdatedAt}, func() error { rows[row.ID] = row; return nil })
			return err
		})
		b.Queue(selectLines, orders).Query(func(r pgx.Rows) error {
			var id uuid.UUID
			var l lineRow
			_, err := pgx.ForEachRow(r, []any{&id, &l.LineNo, &l.SKU, &l.Quantity, &l.UnitPriceCents}, func() error {
				lines[id] = append(lines[id], l)
				return nil
			})
			return err
		})
	}
	if err := v.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("read heads and read-model rows: %w", err)
	}

	for _, s := range streams {
		for _, d := range s.log {
			v.report(d)
		}
		switch head, ok := heads[s.id]; {
		case !ok:
			v.report(Difference{Stream: s.id, Field: "aggregate_heads.version", Expected: fmt.Sprint(s.last), Found: "no head"})
		case head != s.last:
			v.report(Difference{Stream: s.id, Field: "aggregate_heads.version", Expected: fmt.Sprint(s.last), Found: fmt.Sprint(head)})
		}
		if !s.comparable {
			continue
		}
		if s.foldErr != nil {
			return s.foldErr
		}
		found, ok := rows[s.orderID]
		var foundRow *overviewRow
		if ok {
			foundRow = &found
		}
		v.sum.Lines += int64(len(lines[s.orderID]))
		v.compareOrder(s, foundRow, lines[s.orderID])
	}
	return nil
}

func (v *verifier) compareOrder(s *stream, found *overviewRow, foundLines []lineRow) {
	diff := func(field, expected, found string) {
		v.report(Difference{Stream: s.id, Field: field, Expected: expected, Found: found})
	}
	want := s.row
	switch {
	case want == nil && found == nil:
		return
	case want == nil:
		diff("order_overview", "no row (the events place no order)", fmt.Sprintf("a row at version %d", found.Version))
		return
	case found == nil:
		diff("order_overview", fmt.Sprintf("a row at version %d", want.Version), "no row")
		return
	}
	text := func(field, w, f string) {
		if w != f {
			diff(field, strconv.Quote(w), strconv.Quote(f))
		}
	}
	word := func(field, w, f string) {
		if w != f {
			diff(field, w, f)
		}
	}
	number := func(field string, w, f int64) {
		if w != f {
			diff(field, fmt.Sprint(w), fmt.Sprint(f))
		}
	}
	instant := func(field string, w, f time.Time) {
		if !w.Equal(f) {
			diff(field, formatTime(w), formatTime(f))
		}
	}
	text("customer_id", want.CustomerID, found.CustomerID)
	word("status", want.Status, found.Status)
	word("currency", want.Currency, found.Currency)
	number("total_cents", want.TotalCents, found.TotalCents)
	number("unit_count", want.UnitCount, found.UnitCount)
	number("version", want.Version, found.Version)
	instant("placed_at", want.PlacedAt, found.PlacedAt)
	instant("updated_at", want.UpdatedAt, found.UpdatedAt)

	// Both sides are in line_no order: merge them.
	i, j := 0, 0
	for i < len(s.lines) || j < len(foundLines) {
		switch {
		case j == len(foundLines) || i < len(s.lines) && s.lines[i].LineNo < foundLines[j].LineNo:
			diff(fmt.Sprintf("lines[%d]", s.lines[i].LineNo), describeLine(s.lines[i]), "no line")
			i++
		case i == len(s.lines) || foundLines[j].LineNo < s.lines[i].LineNo:
			diff(fmt.Sprintf("lines[%d]", foundLines[j].LineNo), "no line", describeLine(foundLines[j]))
			j++
		default:
			w, f := s.lines[i], foundLines[j]
			prefix := fmt.Sprintf("lines[%d].", w.LineNo)
			text(prefix+"sku", w.SKU, f.SKU)
			number(prefix+"quantity", w.Quantity, f.Quantity)
			number(prefix+"unit_price_cents", w.UnitPriceCents, f.UnitPriceCents)
			i++
			j++
		}
	}
	number("lines.count", int64(len(s.lines)), int64(len(foundLines)))
}

func describeLine(l lineRow) string {
	return fmt.Sprintf("sku %q, quantity %d, unit_price_cents %d", l.SKU, l.Quantity, l.UnitPriceCents)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Heads and read-model rows that no event backs: a keyset page at a time, each row
// with whether its stream has any event (an index probe per row).
const (
	selectHeadsFirst = `SELECT h.stream_type, h.stream_id, h.version,
		  EXISTS (SELECT 1 FROM events e WHERE e.stream_type = h.stream_type AND e.stream_id = h.stream_id)
		FROM aggregate_heads h
		ORDER BY h.stream_type, h.stream_id
		LIMIT $1`
	selectHeadsNext = `SELECT h.stream_type, h.stream_id, h.version,
		  EXISTS (SELECT 1 FROM events e WHERE e.stream_type = h.stream_type AND e.stream_id = h.stream_id)
		FROM aggregate_heads h
		WHERE (h.stream_type, h.stream_id) > ($2, $3)
		ORDER BY h.stream_type, h.stream_id
		LIMIT $1`
	selectOverviewFirst = `SELECT o.id, o.version,
		  EXISTS (SELECT 1 FROM events e WHERE e.stream_type = $2 AND e.stream_id = o.id::text)
		FROM order_overview o
		ORDER BY o.id
		LIMIT $1`
	selectOverviewNext = `SELECT o.id, o.version,
		  EXISTS (SELECT 1 FROM events e WHERE e.stream_type = $2 AND e.stream_id = o.id::text)
		FROM order_overview o
		WHERE o.id > $3
		ORDER BY o.id
		LIMIT $1`
)

// orphanHeads reports heads of streams that have no events.
func (v *verifier) orphanHeads(ctx context.Context) error {
	var after eventstore.StreamID
	for first := true; ; first = false {
		var rows pgx.Rows
		var err error
		if first {
			rows, err = v.tx.Query(ctx, selectHeadsFirst, v.o.pageSize)
		} else {
			rows, err = v.tx.Query(ctx, selectHeadsNext, v.o.pageSize, after.Type, after.ID)
		}
		if err != nil {
			return fmt.Errorf("read heads: %w", err)
		}
		var version int64
		var hasEvents bool
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&after.Type, &after.ID, &version, &hasEvents}, func() error {
			n++
			if !hasEvents {
				v.report(Difference{Stream: after, Field: "aggregate_heads.version", Expected: "no head (the stream has no events)", Found: fmt.Sprint(version)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read heads: %w", err)
		}
		v.sum.Heads += int64(n)
		v.o.observe("heads", n)
		if n < v.o.pageSize {
			return nil
		}
	}
}

// orphanRows counts the order_overview rows and reports those whose order has no
// events.
func (v *verifier) orphanRows(ctx context.Context) error {
	var after uuid.UUID
	for first := true; ; first = false {
		var rows pgx.Rows
		var err error
		if first {
			rows, err = v.tx.Query(ctx, selectOverviewFirst, v.o.pageSize, orderstore.StreamType)
		} else {
			rows, err = v.tx.Query(ctx, selectOverviewNext, v.o.pageSize, orderstore.StreamType, after)
		}
		if err != nil {
			return fmt.Errorf("read order_overview: %w", err)
		}
		var version int64
		var hasEvents bool
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&after, &version, &hasEvents}, func() error {
			n++
			if !hasEvents {
				v.report(Difference{Stream: eventstore.StreamID{Type: orderstore.StreamType, ID: after.String()},
					Field: "order_overview", Expected: "no row (the order has no events)", Found: fmt.Sprintf("a row at version %d", version)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read order_overview: %w", err)
		}
		v.sum.Rows += int64(n)
		v.o.observe("rows", n)
		if n < v.o.pageSize {
			return nil
		}
	}
}
