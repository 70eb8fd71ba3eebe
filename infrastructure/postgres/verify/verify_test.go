package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/verify"
	"github.com/example/orders/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is the application wired to a fresh database, as the service wires it.
type fixture struct {
	pool   *pgxpool.Pool
	codec  *eventcodec.Registry[order.Event]
	models []verify.ReadModel // as the composition root lists them: orders only
	app    application.App
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.MaxConns(20))
	codec := eventcodec.NewOrderRegistry()
	app := application.App{Aggregates: application.Aggregates{Orders: application.NewOrders(orderstore.NewStore(pool, codec), orderstore.NewQueries(pool, codec), appkit.RunnerConfig{
		Retry: appkit.RetryPolicy{MaxAttempts: 100, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond},
	})}}
	return fixture{pool: pool, codec: codec, models: []verify.ReadModel{orderstore.ReadModel(codec)}, app: app}
}

func (f fixture) place(t testing.TB, customer string) uuid.UUID {
	t.Helper()
	res, err := f.app.Orders.PlaceOrder(appkit.AsSystem(context.Background()), application.PlaceOrder{OrderID: uuid.Must(application.NewID()), CustomerID: customer, Currency: "EUR"})
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	return res.View.State.ID
}

func (f fixture) addLine(t testing.TB, id uuid.UUID, sku string, qty int, price int64) {
	t.Helper()
	if _, err := f.app.Orders.AddOrderLine(appkit.AsSystem(context.Background()), application.AddOrderLine{OrderID: id, SKU: sku, Quantity: qty, UnitPriceCents: price}); err != nil {
		t.Fatalf("add line: %v", err)
	}
}

func (f fixture) confirm(t testing.TB, id uuid.UUID) {
	t.Helper()
	if _, err := f.app.Orders.ConfirmOrder(appkit.AsSystem(context.Background()), application.ConfirmOrder{OrderID: id}); err != nil {
		t.Fatalf("confirm: %v", err)
	}
}

func (f fixture) cancel(t testing.TB, id uuid.UUID) {
	t.Helper()
	if _, err := f.app.Orders.CancelOrder(appkit.AsSystem(context.Background()), application.CancelOrder{OrderID: id, Reason: "test"}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
}

// order places an order with lines and takes it through some of its life: i picks
// which, so that a range of i gives every shape.
func (f fixture) order(t testing.TB, i int) uuid.UUID {
	t.Helper()
	id := f.place(t, fmt.Sprintf("customer-%d", i%7))
	for l := 0; l < i%4; l++ {
		f.addLine(t, id, fmt.Sprintf("sku-%d", l), 1+l, int64(100*(i%5)+l))
	}
	switch {
	case i%4 > 0 && i%3 == 0:
		f.confirm(t, id)
	case i%5 == 0:
		f.cancel(t, id)
	}
	return id
}

func (f fixture) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	tag, err := f.pool.Exec(appkit.AsSystem(context.Background()), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if tag.RowsAffected() == 0 {
		t.Fatalf("%s: no row affected", sql)
	}
}

func (f fixture) appendRaw(t testing.TB, stream es.StreamID, expected es.ExpectedVersion, typ string, schema int, payload string) {
	t.Helper()
	err := pgx.BeginFunc(appkit.AsSystem(context.Background()), f.pool, func(tx pgx.Tx) error {
		_, err := es.Append(appkit.AsSystem(context.Background()), tx, stream, expected, []es.EventData{{Type: typ, SchemaVersion: schema, Payload: json.RawMessage(payload)}})
		return err
	})
	if err != nil {
		t.Fatalf("append %s to %s: %v", typ, stream, err)
	}
}

// appendEvent appends e as the codec writes it now (its current schema version).
func (f fixture) appendEvent(t testing.TB, stream es.StreamID, expected es.ExpectedVersion, e order.Event) {
	t.Helper()
	name, version, payload, err := f.codec.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	f.appendRaw(t, stream, expected, name, version, string(payload))
}

func (f fixture) verify(t testing.TB, opts ...verify.Option) ([]verify.Difference, verify.Summary) {
	t.Helper()
	return f.verifyWith(t, f.models, opts...)
}

func (f fixture) verifyWith(t testing.TB, models []verify.ReadModel, opts ...verify.Option) ([]verify.Difference, verify.Summary) {
	t.Helper()
	var diffs []verify.Difference
	sum, err := verify.Verify(appkit.AsSystem(context.Background()), f.pool, models, func(d verify.Difference) { diffs = append(diffs, d) }, opts...)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if int(sum.Differences) != len(diffs) {
		t.Fatalf("summary counts %d differences, %d reported", sum.Differences, len(diffs))
	}
	return diffs, sum
}

func (f fixture) mustVerify(t testing.TB, opts ...verify.Option) verify.Summary {
	t.Helper()
	diffs, sum := f.verify(t, opts...)
	if len(diffs) > 0 {
		t.Fatalf("verify found %d differences:\n%s", len(diffs), lines(diffs))
	}
	return sum
}

func (f fixture) rebuild(t testing.TB, opts ...verify.Option) verify.RebuildSummary {
	t.Helper()
	sum, err := verify.Rebuild(appkit.AsSystem(context.Background()), f.pool, f.models[0], opts...)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	return sum
}

// readModel is both read-model tables as text, in key order.
func (f fixture) readModel(t testing.TB) []string {
	t.Helper()
	rows, err := f.pool.Query(appkit.AsSystem(context.Background()), `
		SELECT to_jsonb(o)::text FROM (SELECT * FROM order_overview ORDER BY id) o
		UNION ALL
		SELECT to_jsonb(l)::text FROM (SELECT * FROM order_overview_lines ORDER BY order_id, line_no) l`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f fixture) count(t testing.TB, sql string) int64 {
	t.Helper()
	var n int64
	if err := f.pool.QueryRow(appkit.AsSystem(context.Background()), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// inGoroutine is t for helpers called from a goroutine the test started: a fatal
// error fails the test and ends that goroutine only (FailNow must not be called there).
type inGoroutine struct{ testing.TB }

//nolint:staticcheck // QF1008: through g.TB, so that Helper marks this method and not a promoted wrapper
func (g inGoroutine) Fatalf(format string, args ...any) {
	g.TB.Helper()
	g.TB.Errorf(format, args...)
	runtime.Goexit()
}

//nolint:staticcheck // QF1008: as Fatalf
func (g inGoroutine) Fatal(args ...any) {
	g.TB.Helper()
	g.TB.Error(args...)
	runtime.Goexit()
}

func lines(diffs []verify.Difference) string {
	var b strings.Builder
	for _, d := range diffs {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

func diff(id uuid.UUID, field, expected, found string) verify.Difference {
	return verify.Difference{Stream: es.StreamID{Type: "order", ID: id.String()}, Field: field, Expected: expected, Found: found}
}

// wantExactly fails unless got holds exactly want, in any order.
func wantExactly(t *testing.T, got, want []verify.Difference) {
	t.Helper()
	key := func(d verify.Difference) string { return d.String() }
	g, w := make([]string, len(got)), make([]string, len(want))
	for i, d := range got {
		g[i] = key(d)
	}
	for i, d := range want {
		w[i] = key(d)
	}
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("differences:\n%s\nwant:\n%s", lines(got), lines(want))
	}
}

func TestVerifyPassesOnWhatTheApplicationWrote(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 30; i++ {
		f.order(t, i)
	}
	// A stream of a type no read model is registered for passes the log checks, and
	// its type is reported once: its streams cannot be checked.
	f.appendRaw(t, es.StreamID{Type: "customer", ID: "c-1"}, es.NoStream(), "CustomerRegistered", 1, `{}`)
	f.appendRaw(t, es.StreamID{Type: "customer", ID: "c-1"}, es.Exact(1), "CustomerRenamed", 1, `{}`)

	diffs, sum := f.verify(t)
	wantExactly(t, diffs, []verify.Difference{{Stream: es.StreamID{Type: "customer"}, Found: "no read-model checker registered (1 stream)"}})
	if got := diffs[0].String(); got != `stream type "customer": no read-model checker registered (1 stream)` {
		t.Fatalf("difference reads %q", got)
	}
	events := f.count(t, `SELECT count(*) FROM events`)
	if sum.Streams != 31 || sum.Events != events || sum.Rows != 30 || sum.Heads != 31 || sum.Differences != 1 {
		t.Fatalf("summary %+v, want 31 streams, %d events, 30 rows, 31 heads", sum, events)
	}
	if lines := f.count(t, `SELECT count(*) FROM order_overview_lines`); sum.Compared != 30+lines || lines == 0 {
		t.Fatalf("%d rows compared, want 30 + %d", sum.Compared, lines)
	}

	// With Unregistered, the type goes to the caller instead (a removed aggregate's
	// history); its streams' versions and heads are still checked.
	var skipped []string
	onlyLog := func(streamType string, streams int64) {
		skipped = append(skipped, fmt.Sprintf("%s:%d", streamType, streams))
	}
	diffs, only := f.verify(t, verify.Unregistered(onlyLog))
	if len(diffs) != 0 || only.Differences != 0 || only.Streams != 31 || !slices.Equal(skipped, []string{"customer:1"}) {
		t.Fatalf("with Unregistered: differences %v, summary %+v, skipped %v; want none, 31 streams, [customer:1]", diffs, only, skipped)
	}
	if _, err := f.pool.Exec(appkit.AsSystem(context.Background()), `UPDATE aggregate_heads SET version = 5 WHERE stream_type = 'customer'`); err != nil {
		t.Fatal(err)
	}
	skipped = nil
	diffs, _ = f.verify(t, verify.Unregistered(onlyLog))
	wantExactly(t, diffs, []verify.Difference{{Stream: es.StreamID{Type: "customer", ID: "c-1"}, Field: "aggregate_heads.version", Expected: "2", Found: "5"}})
	if !slices.Equal(skipped, []string{"customer:1"}) {
		t.Fatalf("skipped %v", skipped)
	}
	// With LogOnly the type is known to have no read model: not reported, not passed
	// to Unregistered, and its heads still checked.
	skipped = nil
	diffs, _ = f.verify(t, verify.LogOnly("customer"), verify.Unregistered(onlyLog))
	wantExactly(t, diffs, []verify.Difference{{Stream: es.StreamID{Type: "customer", ID: "c-1"}, Field: "aggregate_heads.version", Expected: "2", Found: "5"}})
	if len(skipped) != 0 {
		t.Fatalf("a log-only type was reported as unregistered: %v", skipped)
	}
	want := fmt.Sprintf("verify: 31 streams, %d events, 30 read-model rows checked, 1 differences", events)
	if sum.String() != want {
		t.Fatalf("summary line %q, want %q", sum.String(), want)
	}
}

// Each way of damaging the read model is reported with the order, the field and both
// values; a rebuild repairs all of them and writes exactly what the inline projection
// had written.
func TestVerifyReportsReadModelCorruptionAndRebuildRepairsIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 10; i++ {
		f.order(t, i)
	}
	total := f.place(t, "total") // total_cents 750
	f.addLine(t, total, "apple", 3, 250)
	line := f.place(t, "line")
	f.addLine(t, line, "a", 1, 100) // version 2
	f.addLine(t, line, "b", 2, 300) // version 3
	status := f.place(t, "status")
	f.addLine(t, status, "a", 1, 100)
	f.confirm(t, status)
	gone := f.place(t, "gone")
	f.addLine(t, gone, "a", 1, 100)
	fields := f.place(t, "fields")
	f.addLine(t, fields, "a", 1, 100)
	f.addLine(t, fields, "b", 1, 100)
	bogus := uuid.Must(uuid.NewV7())
	before := f.readModel(t)
	f.mustVerify(t)

	f.exec(t, `UPDATE order_overview SET total_cents = 700 WHERE id = $1`, total)
	f.exec(t, `DELETE FROM order_overview_lines WHERE order_id = $1 AND line_no = 3`, line)
	f.exec(t, `INSERT INTO order_overview (id, customer_id, status, currency, version, placed_at, updated_at)
		VALUES ($1, 'nobody', 'pending', 'EUR', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`, bogus)
	f.exec(t, `UPDATE order_overview SET status = 'cancelled' WHERE id = $1`, status)
	f.exec(t, `DELETE FROM order_overview WHERE id = $1`, gone)
	f.exec(t, `UPDATE order_overview SET customer_id = 'mallory', currency = 'USD', unit_count = 5, version = 7 WHERE id = $1`, fields)
	f.exec(t, `UPDATE order_overview_lines SET sku = 'x', quantity = 9, unit_price_cents = 1 WHERE order_id = $1 AND line_no = 2`, fields)
	f.exec(t, `INSERT INTO order_overview_lines (order_id, line_no, sku, quantity, unit_price_cents) VALUES ($1, 9, 'extra', 1, 1)`, fields)
	var placedAt time.Time
	if err := f.pool.QueryRow(appkit.AsSystem(context.Background()), `UPDATE order_overview SET placed_at = placed_at - interval '1 hour' WHERE id = $1 RETURNING placed_at`, total).Scan(&placedAt); err != nil {
		t.Fatal(err)
	}
	wasPlaced := placedAt.Add(time.Hour).UTC().Format(time.RFC3339Nano)

	diffs, sum := f.verify(t)
	wantExactly(t, diffs, []verify.Difference{
		diff(total, "total_cents", "750", "700"),
		diff(total, "placed_at", wasPlaced, placedAt.UTC().Format(time.RFC3339Nano)),
		diff(line, "lines[3]", `sku "b", quantity 2, unit_price_cents 300`, "no row"),
		diff(line, "lines.count", "2", "1"),
		diff(bogus, "order_overview", "no row (the order has no events)", "a row at version 1"),
		diff(status, "status", "confirmed", "cancelled"),
		diff(gone, "order_overview", "a row at version 2", "no row"),
		diff(fields, "customer_id", `"fields"`, `"mallory"`),
		diff(fields, "currency", "EUR", "USD"),
		diff(fields, "unit_count", "2", "5"),
		diff(fields, "version", "3", "7"),
		diff(fields, "lines[2].sku", `"a"`, `"x"`),
		diff(fields, "lines[2].quantity", "1", "9"),
		diff(fields, "lines[2].unit_price_cents", "100", "1"),
		diff(fields, "lines[9]", "no row", `sku "extra", quantity 1, unit_price_cents 1`),
		diff(fields, "lines.count", "2", "3"),
	})
	if sum.Rows != 15 { // 15 orders, one gone, one bogus
		t.Fatalf("%d rows checked, want 15", sum.Rows)
	}
	for _, d := range diffs {
		if id, ok := d.AggregateID(); !ok || id.String() != d.Stream.ID {
			t.Fatalf("%v: OrderID() = %v, %v", d, id, ok)
		}
	}
	if got := diff(total, "total_cents", "750", "700").String(); got != "order "+total.String()+": total_cents: expected 750, found 700" {
		t.Fatalf("difference reads %q", got)
	}

	rs := f.rebuild(t)
	if ov := rs.Table("order_overview"); rs.Streams != 15 || ov.Rows != 15 || ov.Deleted != 15 || rs.Skipped != 0 {
		t.Fatalf("rebuild summary %+v", rs)
	}
	f.mustVerify(t)
	if after := f.readModel(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("the rebuilt read model differs from the projection's:\n%s\nwant\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
}

// Every column of a read model's tables is compared, not a list of them: a column a
// migration adds, which neither the projection fills nor the checker knows, is a
// difference on every row until the checker says what it should hold (and then the
// projection must write it). The columns are named as no migration would name its own
// (not the recipe's note, say), so that a real one never collides with them.
func TestVerifyReportsAColumnTheProjectionDoesNotFill(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.place(t, "noted")
	f.addLine(t, id, "a", 1, 100)
	f.mustVerify(t)

	if _, err := f.pool.Exec(appkit.AsSystem(context.Background()), `ALTER TABLE order_overview ADD COLUMN unfilled_by_test text;
		ALTER TABLE order_overview_lines ADD COLUMN unfilled_by_test boolean NOT NULL DEFAULT false`); err != nil {
		t.Fatal(err)
	}
	diffs, _ := f.verify(t)
	wantExactly(t, diffs, []verify.Difference{
		diff(id, "unfilled_by_test", "a column the checker compares (no field of orderstore.overviewRow is tagged db:\"unfilled_by_test\")", "NULL"),
		diff(id, "lines[2].unfilled_by_test", "a column the checker compares (no field of orderstore.lineRow is tagged db:\"unfilled_by_test\")", "false"),
	})
}

// The log's own bookkeeping: versions 1..n and the head at n.
func TestVerifyReportsLogBookkeeping(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		f.order(t, i)
	}
	wrongHead := f.place(t, "head")
	f.addLine(t, wrongHead, "a", 1, 1)
	gap := f.place(t, "gap")
	f.addLine(t, gap, "a", 2, 50) // version 2
	noHead := f.place(t, "no head")
	headOnly := uuid.Must(uuid.NewV7())
	other := es.StreamID{Type: "audit", ID: "a-1"}
	f.mustVerify(t)

	f.exec(t, `UPDATE aggregate_heads SET version = 9 WHERE stream_type = 'order' AND stream_id = $1`, wrongHead.String())
	// The events table refuses UPDATE and DELETE; a gap is an event inserted past the head.
	name, version, payload, err := f.codec.Encode(order.OrderConfirmed{ConfirmedAt: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	f.exec(t, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		VALUES ('order', $1, 4, gen_random_uuid(), $2, $3, $4)`, gap.String(), name, version, string(payload))
	f.exec(t, `DELETE FROM aggregate_heads WHERE stream_type = 'order' AND stream_id = $1`, noHead.String())
	f.exec(t, `INSERT INTO aggregate_heads (stream_type, stream_id, version) VALUES ('order', $1, 3)`, headOnly.String())
	f.exec(t, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		VALUES ($1, $2, 1, gen_random_uuid(), 'Audited', 1, '{}')`, other.Type, other.ID)

	var updatedAt time.Time
	if err := f.pool.QueryRow(appkit.AsSystem(context.Background()), `SELECT updated_at FROM order_overview WHERE id = $1`, gap).Scan(&updatedAt); err != nil {
		t.Fatal(err)
	}
	diffs, _ := f.verify(t)
	wantExactly(t, diffs, []verify.Difference{
		diff(wrongHead, "aggregate_heads.version", "2", "9"),
		diff(gap, "stream_version", "3", "4"),
		diff(gap, "aggregate_heads.version", "4", "2"),
		// The event past the gap is folded too: the read model does not have it.
		diff(gap, "status", "confirmed", "pending"),
		diff(gap, "version", "4", "2"),
		diff(gap, "updated_at", "2026-05-01T10:00:00Z", updatedAt.UTC().Format(time.RFC3339Nano)),
		diff(noHead, "aggregate_heads.version", "1", "no head"),
		diff(headOnly, "aggregate_heads.version", "no head (the stream has no events)", "3"),
		{Stream: other, Field: "aggregate_heads.version", Expected: "1", Found: "no head"},
		{Stream: es.StreamID{Type: "audit"}, Found: "no read-model checker registered (1 stream)"},
	})
	for _, d := range diffs {
		if d.Stream == other && d.String() != "stream audit/a-1: aggregate_heads.version: expected 1, found no head" {
			t.Fatalf("difference reads %q", d.String())
		}
	}
}

// An order stream that cannot be decoded or folded is reported, not a crash; rebuild
// refuses to guess and changes nothing.
func TestUndecodableAndMalformedStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ok := f.place(t, "fine")
	teleported := f.place(t, "teleported")
	f.addLine(t, teleported, "a", 1, 1)
	f.appendRaw(t, es.StreamID{Type: "order", ID: teleported.String()}, es.Exact(2), "OrderTeleported", 1, `{}`)
	future := f.place(t, "future")
	lineAdded, _ := f.codec.Version("OrderLineAdded") // what the code writes now; the event is newer
	f.appendRaw(t, es.StreamID{Type: "order", ID: future.String()}, es.Exact(1), "OrderLineAdded", lineAdded+1, `{}`)
	headless := uuid.Must(uuid.NewV7()) // starts with a line, so it folds to no order
	f.appendEvent(t, es.StreamID{Type: "order", ID: headless.String()}, es.NoStream(), order.OrderLineAdded{SKU: "a", Quantity: 1, UnitPriceCents: 1})
	elsewhere := uuid.Must(uuid.NewV7()) // placed with another order's id
	f.appendEvent(t, es.StreamID{Type: "order", ID: elsewhere.String()}, es.NoStream(),
		order.OrderPlaced{OrderID: ok, CustomerID: "x", Currency: "EUR", PlacedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	notUUID := es.StreamID{Type: "order", ID: "ORDER-1"}
	f.appendEvent(t, notUUID, es.NoStream(), order.OrderPlaced{OrderID: uuid.New(), CustomerID: "x", Currency: "EUR", PlacedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})

	diffs, sum := f.verify(t)
	var teleportedErr, futureErr string
	for _, d := range diffs {
		switch {
		case d.Stream.ID == teleported.String() && d.Field == "event[3]":
			teleportedErr = d.Found
		case d.Stream.ID == future.String() && d.Field == "event[2]":
			futureErr = d.Found
		}
	}
	if !strings.Contains(teleportedErr, "OrderTeleported v1") || !strings.Contains(teleportedErr, eventcodec.ErrUnknownEvent.Error()) {
		t.Fatalf("unknown event reported as %q", teleportedErr)
	}
	if !strings.Contains(futureErr, fmt.Sprintf("OrderLineAdded v%d", lineAdded+1)) || !strings.Contains(futureErr, "newer than this code") {
		t.Fatalf("future schema version reported as %q", futureErr)
	}
	wantExactly(t, diffs, []verify.Difference{
		diff(teleported, "event[3]", "an event this code can decode", teleportedErr),
		diff(future, "event[2]", "an event this code can decode", futureErr),
		diff(headless, "event[1].type", "OrderPlaced", "OrderLineAdded"),
		diff(elsewhere, "event[1].order_id", elsewhere.String(), ok.String()),
		// Written without the application, so without their read-model rows:
		diff(elsewhere, "order_overview", "a row at version 1", "no row"),
		{Stream: notUUID, Field: "stream_id", Expected: "a UUID in canonical form (the order id)", Found: `"ORDER-1"`},
	})
	if sum.Streams != 6 {
		t.Fatalf("%d streams", sum.Streams)
	}

	before := f.readModel(t)
	_, err := verify.Rebuild(appkit.AsSystem(context.Background()), f.pool, f.models[0])
	if !errors.Is(err, verify.ErrUndecodable) || !strings.Contains(err.Error(), teleported.String()) && !strings.Contains(err.Error(), future.String()) {
		t.Fatalf("rebuild over an undecodable event: %v", err)
	}
	if after := f.readModel(t); !reflect.DeepEqual(after, before) {
		t.Fatal("a failed rebuild changed the read model")
	}
}

// Events written without the projection (here: an order of the first release, stored
// as OrderPlaced v1, and a line added to it through the application, whose projection
// finds no row to update) get their rows from a rebuild, upcast like every read.
func TestRebuildWritesRowsTheProjectionMissed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := uuid.Must(uuid.NewV7())
	f.appendRaw(t, es.StreamID{Type: "order", ID: id.String()}, es.NoStream(), "OrderPlaced", 1,
		`{"order_id": "`+id.String()+`", "customer_id": "legacy", "placed_at": "2019-05-01T10:00:00Z"}`)
	f.addLine(t, id, "a", 2, 10)
	diffs, _ := f.verify(t)
	wantExactly(t, diffs, []verify.Difference{diff(id, "order_overview", "a row at version 2", "no row")})

	rs := f.rebuild(t)
	if rs.Table("order_overview").Rows != 1 || rs.Table("order_overview_lines").Rows != 1 || rs.Events != 2 {
		t.Fatalf("rebuild summary %+v", rs)
	}
	f.mustVerify(t)
	v, err := f.app.Orders.Get(appkit.AsSystem(context.Background()), id)
	if err != nil || v.State.Currency != "EUR" || v.State.TotalCents != 20 || v.Version != 2 || v.State.PlacedAt.Year() != 2019 || len(v.State.Lines) != 1 {
		t.Fatalf("rebuilt row %+v (%v)", v, err)
	}
}

// Pages of 7 events give what one big page gives, and no page or batch ever holds more
// than 7 of anything, whatever the number of orders; a stream longer than a page is
// carried across pages.
func TestPagingIsBoundedAndChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ids []uuid.UUID
	for i := 0; i < 50; i++ {
		ids = append(ids, f.order(t, i))
	}
	long := f.place(t, "long")
	for i := 0; i < 30; i++ {
		f.addLine(t, long, fmt.Sprintf("l%d", i), 1, int64(i))
	}
	before := f.readModel(t)
	f.exec(t, `UPDATE order_overview SET total_cents = total_cents + 1 WHERE id = $1`, ids[7])
	f.exec(t, `UPDATE order_overview_lines SET quantity = 99 WHERE order_id = $1 AND line_no = 20`, long)
	f.exec(t, `DELETE FROM order_overview WHERE id = $1`, ids[33])
	f.exec(t, `UPDATE aggregate_heads SET version = 99 WHERE stream_id = $1`, ids[41].String())
	events := f.count(t, `SELECT count(*) FROM events`)

	big, bigSum := f.verify(t, verify.PageSize(100_000))
	seen := map[string]int{}
	biggest := map[string]int{}
	small, smallSum := f.verify(t, verify.PageSize(7), verify.Observe(func(what string, n int) {
		seen[what]++
		biggest[what] = max(biggest[what], n)
	}))
	if len(big) != 4 || !reflect.DeepEqual(small, big) {
		t.Fatalf("pages of 7 found\n%s\none page found\n%s", lines(small), lines(big))
	}
	bigSum.Duration, smallSum.Duration = 0, 0
	if smallSum != bigSum {
		t.Fatalf("summaries differ: %+v, %+v", smallSum, bigSum)
	}
	for what, n := range biggest {
		if n > 7 {
			t.Fatalf("a %s page or batch of %d, with page size 7", what, n)
		}
	}
	if want := int(events/7) + 1; seen["events"] < want {
		t.Fatalf("%d pages of events for %d events", seen["events"], events)
	}
	if seen["rows"] < 50/7 || seen["heads"] < 51/7 {
		t.Fatalf("pages: %v", seen)
	}

	rs := f.rebuild(t, verify.PageSize(7))
	if rs.Table("order_overview").Rows != 51 {
		t.Fatalf("rebuild summary %+v", rs)
	}
	f.exec(t, `UPDATE aggregate_heads SET version = 2 WHERE stream_id = $1`, ids[41].String()) // rebuild leaves the log alone
	f.mustVerify(t, verify.PageSize(7))
	if after := f.readModel(t); !reflect.DeepEqual(after, before) {
		t.Fatal("rebuilding in pages of 7 gives another read model than the projection's")
	}
}

// Verify reads one snapshot, and commands write events, head and read model in one
// transaction: so it finds nothing while commands keep coming.
func TestVerifyIsExactUnderConcurrentCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 20; i++ {
		f.order(t, i)
	}
	var stop atomic.Bool
	var placed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded: a verify pages through every order its snapshot holds, so writers
			// that outpace it on a loaded machine made each verify longer than the last.
			for i := 0; !stop.Load() && placed.Load() < 2000; i++ {
				f.order(inGoroutine{t}, i)
				placed.Add(1)
			}
		}()
	}
	for placed.Load() == 0 && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	from := placed.Load()
	for i := 0; i < 5; i++ {
		f.mustVerify(t, verify.PageSize(7))
	}
	during := placed.Load() - from
	stop.Store(true)
	wg.Wait()
	f.mustVerify(t)
	if during == 0 {
		t.Fatal("no command ran while verify did; the test proves nothing")
	}
	t.Logf("%d orders written during 5 verifies", during)
}

// A rebuild while commands run: commands wait for its lock, their own projection then
// applies on top of the rebuilt rows, and nothing is lost either way.
func TestRebuildUnderConcurrentCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 20; i++ {
		f.order(t, i)
	}
	var stop atomic.Bool
	var commands atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := inGoroutine{t}
			var mine []uuid.UUID
			for i := 0; !stop.Load(); i++ {
				// New orders, and lines on orders placed before (their rows may have
				// been rebuilt in between).
				if len(mine) > 0 && i%2 == 0 {
					f.addLine(t, mine[i%len(mine)], "more", 1, 5)
				} else {
					mine = append(mine, f.place(t, "busy"))
				}
				commands.Add(1)
			}
		}()
	}
	for commands.Load() == 0 && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	from := commands.Load()
	for i := 0; i < 5; i++ {
		f.rebuild(t, verify.PageSize(7))
	}
	during := commands.Load() - from
	stop.Store(true)
	wg.Wait()
	f.mustVerify(t)
	if during == 0 {
		t.Fatal("no command ran while rebuild did; the test proves nothing")
	}
	t.Logf("%d commands during 5 rebuilds", during)
}

// 1,000 orders of every shape: how long verify and rebuild take.
func TestThousandOrders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const orders, workers = 1000, 16
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < orders; i += workers {
				f.order(inGoroutine{t}, i)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	start := time.Now()
	sum := f.mustVerify(t)
	took := time.Since(start)
	t.Logf("verify: %d streams, %d events, %d rows, %d rows compared in %v", sum.Streams, sum.Events, sum.Rows, sum.Compared, took)
	if sum.Streams != orders || sum.Rows != orders {
		t.Fatalf("summary %+v", sum)
	}
	if took > 20*time.Second {
		t.Fatalf("verify of %d orders took %v", orders, took)
	}
	rs := f.rebuild(t)
	t.Logf("%v", rs)
	start = time.Now()
	f.mustVerify(t, verify.PageSize(100))
	t.Logf("verify in pages of 100 after the rebuild: %v", time.Since(start))
}

// A writer that holds the read model longer than the lock timeout makes the rebuild
// give up (commands queue behind a waiting rebuild, so it must not wait long) and
// change nothing.
func TestRebuildGivesUpWaitingForTheLock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.place(t, "slow")
	ctx := appkit.AsSystem(context.Background())
	tx, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `UPDATE order_overview SET customer_id = 'held' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = verify.Rebuild(ctx, f.pool, f.models[0], verify.LockTimeout(200*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "lock timeout") {
		t.Fatalf("rebuild while a writer holds the table: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("gave up after %v", took)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	f.mustVerify(t)
	if rs := f.rebuild(t, verify.LockTimeout(0)); rs.Table("order_overview").Rows != 1 {
		t.Fatalf("rebuild summary %+v", rs)
	}
}
