package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/api"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
)

// After every fault, checkAll looks at the database and the services:
//
//   - the log: every stream's versions are 1..n, aggregate_heads holds n for it, every
//     event decodes, an order starts with its one OrderPlaced;
//   - the read model: each order_overview row (with its lines) equals the fold of the
//     order's events, and there is no row without events;
//   - idempotency_keys: no key was committed without its response;
//   - the ledger: an acknowledged command's event is in the log exactly once (found by
//     its unique correlation id, and an added line by its unique sku) at the version
//     its answer showed, and the answer equals the fold at that version; a rejected
//     command left nothing; one without a definite answer left at most one event;
//     nothing in the log comes from a command never sent;
//   - over HTTP: GET /orders/{id} equals GET /orders/{id}?version=<its version> and the
//     fold; answers of acknowledged commands equal GET ?version=<their version>;
//   - `orders verify` exits 0;
//   - no service logged an ERROR (500s and panics are logged so).
func checkAll(t *testing.T, dbURL string, svcs []*service, loads ...*load) {
	t.Helper()
	begin := time.Now()
	defer func() { t.Logf("checks took %v", time.Since(begin).Round(time.Millisecond)) }()
	snap := checkStore(t, dbURL)
	var live *service
	for _, s := range svcs {
		if s.running() {
			live = s
			break
		}
	}
	for _, l := range loads {
		checkLedger(t, snap, l)
		if live != nil {
			checkHTTP(t, live, snap, l)
		}
	}
	runVerify(t, dbURL)
	for _, s := range svcs {
		bad := s.logProblems()
		expect(t, len(bad) == 0, "%s logged %d errors, first: %s", s.name, len(bad), firstOf(bad))
	}
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// storedEvent is one row of the events table.
type storedEvent struct {
	streamType, streamID string
	version              int64
	typ                  string
	schema               int
	payload              []byte
	corr                 string
	event                order.Event // decoded, for order streams
}

// snapshot is what checkStore read, for the checks that follow.
type snapshot struct {
	streams map[string][]*storedEvent // "type/id" -> events in version order
	byCorr  map[string][]*storedEvent // order events by correlation id
	skus    map[string]int            // sku of OrderLineAdded -> events
	orders  map[uuid.UUID][]*storedEvent
}

// checkStore checks the log, the heads, the read model and the idempotency records.
func checkStore(t *testing.T, dbURL string) *snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("check: connect: %v", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()

	snap := &snapshot{streams: map[string][]*storedEvent{}, byCorr: map[string][]*storedEvent{},
		skus: map[string]int{}, orders: map[uuid.UUID][]*storedEvent{}}
	codec := eventcodec.NewOrderRegistry()
	rows, err := conn.Query(ctx, `SELECT stream_type, stream_id, stream_version, event_type, schema_version, payload::text,
		coalesce(correlation_id, '') FROM events ORDER BY stream_type, stream_id, stream_version`)
	if err != nil {
		t.Fatalf("check: read events: %v", err)
	}
	var all []*storedEvent
	for rows.Next() {
		e := &storedEvent{}
		var payload string
		if err := rows.Scan(&e.streamType, &e.streamID, &e.version, &e.typ, &e.schema, &payload, &e.corr); err != nil {
			t.Fatalf("check: read events: %v", err)
		}
		e.payload = []byte(payload)
		all = append(all, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("check: read events: %v", err)
	}
	for _, e := range all {
		key := e.streamType + "/" + e.streamID
		snap.streams[key] = append(snap.streams[key], e)
		// The ledger's commands are order commands; what a reactor does carries the
		// correlation id of the order command that caused it, in other streams.
		if e.corr != "" && e.streamType == "order" {
			snap.byCorr[e.corr] = append(snap.byCorr[e.corr], e)
		}
	}

	heads := map[string]int64{}
	rows, err = conn.Query(ctx, `SELECT stream_type, stream_id, version FROM aggregate_heads`)
	if err != nil {
		t.Fatalf("check: read heads: %v", err)
	}
	for rows.Next() {
		var typ, id string
		var v int64
		if err := rows.Scan(&typ, &id, &v); err != nil {
			t.Fatalf("check: read heads: %v", err)
		}
		heads[typ+"/"+id] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("check: read heads: %v", err)
	}

	// Streams: versions 1..n, the head at n.
	for key, evs := range snap.streams {
		ok := true
		for i, e := range evs {
			if e.version != int64(i+1) {
				ok = false
			}
		}
		if !expectData(t, ok, "stream %s: versions %v, want 1..%d without gaps or duplicates", key, versionsOf(evs), len(evs)) {
			continue
		}
		h, found := heads[key]
		expectData(t, found && h == int64(len(evs)), "stream %s: %d events but aggregate_heads says %d (present: %v)", key, len(evs), h, found)
	}
	for key, h := range heads {
		_, found := snap.streams[key]
		expectData(t, found, "aggregate_heads has %s at version %d but the stream has no events", key, h)
	}

	// Order streams: decode, fold, compare with the read model.
	overview := readOverview(t, ctx, conn)
	for key, evs := range snap.streams {
		if evs[0].streamType != "order" {
			continue
		}
		id, err := uuid.Parse(evs[0].streamID)
		if !expectData(t, err == nil, "order stream %s: id is not a UUID: %v", key, err) {
			continue
		}
		snap.orders[id] = evs
		decoded := true
		for _, e := range evs {
			ev, err := codec.Decode(e.typ, e.schema, e.payload)
			if !expectData(t, err == nil, "order %s version %d: %v", id, e.version, err) {
				decoded = false
				continue
			}
			e.event = ev
			_, placed := ev.(order.OrderPlaced)
			expectData(t, placed == (e.version == 1), "order %s: version %d is %s", id, e.version, e.typ)
			if l, ok := ev.(order.OrderLineAdded); ok {
				snap.skus[l.SKU]++
			}
		}
		if !decoded {
			continue
		}
		want := foldAt(evs, int64(len(evs)))
		got, found := overview[id]
		if !expectData(t, found, "order %s has %d events but no order_overview row", id, len(evs)) {
			continue
		}
		delete(overview, id)
		d := sameOrder(got.order, want)
		expectData(t, d == "", "order %s: order_overview differs from the fold of its events: %s", id, d)
		var lineVersions []int64
		for _, e := range evs {
			if _, ok := e.event.(order.OrderLineAdded); ok {
				lineVersions = append(lineVersions, e.version)
			}
		}
		expectData(t, slices.Equal(got.lineNos, lineVersions), "order %s: order_overview_lines.line_no %v, the lines' event versions %v", id, got.lineNos, lineVersions)
	}
	for id := range overview {
		expectData(t, false, "order_overview has order %s, which has no events", id)
	}

	var halfWritten int
	// A key commits with its command's outcome (appkit.KeptOutcome), or not at all.
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE outcome IS NULL`).Scan(&halfWritten); err != nil {
		t.Fatalf("check: idempotency keys: %v", err)
	}
	expectData(t, halfWritten == 0, "%d idempotency keys were committed without their outcome", halfWritten)
	t.Logf("store checked: %d streams, %d events, %d heads", len(snap.streams), len(all), len(heads))
	return snap
}

func versionsOf(evs []*storedEvent) []int64 {
	v := make([]int64, len(evs))
	for i, e := range evs {
		v[i] = e.version
	}
	if len(v) > 20 {
		v = v[:20]
	}
	return v
}

// foldAt is the order after its first n events, in the API's shape; line_no of the
// read model is the version of the line's event.
func foldAt(evs []*storedEvent, n int64) api.Order {
	var events []order.Event
	for _, e := range evs[:n] {
		events = append(events, e.event)
	}
	return toAPI(order.Fold(order.Initial(), events...), n)
}

func toAPI(s order.State, version int64) api.Order {
	lines := make([]api.OrderLine, len(s.Lines))
	for i, l := range s.Lines {
		lines[i] = api.OrderLine{Sku: l.SKU, Quantity: int32(l.Quantity), UnitPriceCents: l.UnitPriceCents} //nolint:gosec // the domain bounds a quantity by order.MaxQuantity
	}
	return api.Order{Id: s.ID, CustomerId: s.CustomerID, Currency: s.Currency, Status: api.OrderStatus(s.Status), Lines: lines,
		TotalCents: s.TotalCents, LineCount: int64(len(s.Lines)), UnitCount: int64(s.UnitCount), Version: version, PlacedAt: s.PlacedAt, UpdatedAt: s.UpdatedAt}
}

// sameOrder returns "" if a and b are the same order, else what differs.
func sameOrder(a, b api.Order) string {
	var d []string
	add := func(field string, x, y any) { d = append(d, fmt.Sprintf("%s %v != %v", field, x, y)) }
	if a.Id != b.Id {
		add("id", a.Id, b.Id)
	}
	if a.CustomerId != b.CustomerId {
		add("customer_id", strconv.Quote(a.CustomerId), strconv.Quote(b.CustomerId))
	}
	if a.Currency != b.Currency {
		add("currency", a.Currency, b.Currency)
	}
	if a.Status != b.Status {
		add("status", a.Status, b.Status)
	}
	if a.TotalCents != b.TotalCents {
		add("total_cents", a.TotalCents, b.TotalCents)
	}
	if a.LineCount != b.LineCount {
		add("line_count", a.LineCount, b.LineCount)
	}
	if a.UnitCount != b.UnitCount {
		add("unit_count", a.UnitCount, b.UnitCount)
	}
	if a.Version != b.Version {
		add("version", a.Version, b.Version)
	}
	if !a.PlacedAt.Equal(b.PlacedAt) {
		add("placed_at", a.PlacedAt, b.PlacedAt)
	}
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		add("updated_at", a.UpdatedAt, b.UpdatedAt)
	}
	if !slices.Equal(a.Lines, b.Lines) {
		add("lines", a.Lines, b.Lines)
	}
	return strings.Join(d, "; ")
}

type overviewRow struct {
	order   api.Order
	lineNos []int64 // order_overview_lines.line_no, which is the line's event version
}

func readOverview(t *testing.T, ctx context.Context, conn *pgx.Conn) map[uuid.UUID]*overviewRow {
	t.Helper()
	out := map[uuid.UUID]*overviewRow{}
	rows, err := conn.Query(ctx, `SELECT id, customer_id, status, currency, total_cents, unit_count, version, placed_at, updated_at FROM order_overview`)
	if err != nil {
		t.Fatalf("check: read order_overview: %v", err)
	}
	for rows.Next() {
		var o api.Order
		var status string
		if err := rows.Scan(&o.Id, &o.CustomerId, &status, &o.Currency, &o.TotalCents, &o.UnitCount, &o.Version, &o.PlacedAt, &o.UpdatedAt); err != nil {
			t.Fatalf("check: read order_overview: %v", err)
		}
		o.Status = api.OrderStatus(status)
		o.Lines = []api.OrderLine{}
		out[o.Id] = &overviewRow{order: o}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("check: read order_overview: %v", err)
	}
	rows, err = conn.Query(ctx, `SELECT order_id, line_no, sku, quantity, unit_price_cents FROM order_overview_lines ORDER BY order_id, line_no`)
	if err != nil {
		t.Fatalf("check: read order_overview_lines: %v", err)
	}
	for rows.Next() {
		var id uuid.UUID
		var lineNo int64
		var l api.OrderLine
		if err := rows.Scan(&id, &lineNo, &l.Sku, &l.Quantity, &l.UnitPriceCents); err != nil {
			t.Fatalf("check: read order_overview_lines: %v", err)
		}
		r, ok := out[id]
		if !ok {
			expectData(t, false, "order_overview_lines has a line of order %s, which has no overview row", id)
			continue
		}
		r.order.Lines = append(r.order.Lines, l)
		r.order.LineCount = int64(len(r.order.Lines))
		r.lineNos = append(r.lineNos, lineNo)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("check: read order_overview_lines: %v", err)
	}
	return out
}

// checkLedger holds every recorded command against the log.
func checkLedger(t *testing.T, snap *snapshot, l *load) {
	t.Helper()
	cmds := l.ledger.all()
	corrs := map[string]bool{}
	var late []*command
	for _, c := range cmds {
		corrs[c.Corr] = true
		evs := snap.byCorr[c.Corr]
		for _, e := range evs {
			expectData(t, e.streamID == c.OrderID.String(), "%s: its event is in stream %s", c, e.streamID)
		}
		switch c.Outcome {
		case acked:
			if c.Order == nil {
				continue // reported when it came
			}
			want := 1
			if c.Replayed || c.Kind == kindConfirm || c.Kind == kindCancel {
				want = len(evs) // a replay, or a no-op confirm or cancel, records nothing
				expectData(t, len(evs) <= 1, "%s: %d events with its correlation id, want at most 1", c, len(evs))
			}
			if !expectData(t, len(evs) == want, "%s: %d events with its correlation id, want %d", c, len(evs), want) {
				continue
			}
			if len(evs) == 1 {
				expectData(t, evs[0].version == c.Order.Version, "%s: its event is version %d, the answer said %d", c, evs[0].version, c.Order.Version)
				expectData(t, evs[0].typ == eventTypeOf(c.Kind), "%s: its event is %s", c, evs[0].typ)
				if c.IfMatch > 0 {
					expectData(t, evs[0].version == c.IfMatch+1, "%s: If-Match %d, but its event is version %d", c, c.IfMatch, evs[0].version)
				}
			} else {
				// A confirm or cancel that changed nothing: the order was so already.
				want := map[kind]api.OrderStatus{kindConfirm: api.OrderStatusConfirmed, kindCancel: api.OrderStatusCancelled}[c.Kind]
				expectData(t, c.Replayed || c.Order.Status == want, "%s: no event, and the order it shows is %s", c, c.Order.Status)
			}
			if c.Kind == kindAdd && !c.Replayed {
				expectData(t, snap.skus[c.SKU] == 1, "%s: sku %s is in %d events, want 1", c, c.SKU, snap.skus[c.SKU])
			}
			// The answer is the order at the version it names.
			stream := snap.orders[c.OrderID]
			if !expectData(t, int64(len(stream)) >= c.Order.Version, "%s: the answer shows version %d, the stream has %d events", c, c.Order.Version, len(stream)) {
				continue
			}
			if stream[0].event != nil {
				d := sameOrder(*c.Order, foldAt(stream, c.Order.Version))
				expectData(t, d == "", "%s: the answer differs from the fold at version %d: %s", c, c.Order.Version, d)
			}
		case rejected:
			expectData(t, len(evs) == 0, "%s: rejected, but %d events carry its correlation id", c, len(evs))
			if c.Kind == kindAdd {
				expectData(t, snap.skus[c.SKU] == 0, "%s: rejected, but its sku %s is in %d events", c, c.SKU, snap.skus[c.SKU])
			}
		case unknown:
			expectData(t, len(evs) <= 1, "%s: %d events with its correlation id, want at most 1", c, len(evs))
			if c.Kind == kindAdd {
				expectData(t, snap.skus[c.SKU] <= 1, "%s: sku %s in %d events, want at most 1", c, c.SKU, snap.skus[c.SKU])
			}
			if len(evs) > 0 {
				late = append(late, c)
			}
		}
	}
	// Nothing in the log comes from a command this load did not send.
	for corr, evs := range snap.byCorr {
		if strings.HasPrefix(corr, l.prefix+"-") {
			expectData(t, corrs[corr], "events %s/%d carry correlation id %s, which no command had", evs[0].streamID, evs[0].version, corr)
		}
	}
	stats.unknownLate.Add(int64(len(late)))
	for i, c := range late {
		if i == 5 {
			t.Logf("... and %d more commands without a definite answer that took effect", len(late)-5)
			break
		}
		t.Logf("took effect without a definite answer: %s", c)
	}
	t.Logf("ledger checked: %s", l.summary())
}

func eventTypeOf(k kind) string {
	switch k {
	case kindPlace:
		return "OrderPlaced"
	case kindAdd:
		return "OrderLineAdded"
	case kindConfirm:
		return "OrderConfirmed"
	}
	return "OrderCancelled"
}

// checkHTTP compares what the API shows: the current order (read model) with the order
// folded at its version, and acknowledged answers with the fold at their version.
func checkHTTP(t *testing.T, svc *service, snap *snapshot, l *load) {
	t.Helper()
	cmds := l.ledger.all()
	ids := map[uuid.UUID]bool{}
	var answered []*command
	for _, c := range cmds {
		if _, ok := snap.orders[c.OrderID]; ok {
			ids[c.OrderID] = true
		}
		if c.Outcome == acked && c.Order != nil {
			answered = append(answered, c)
		}
	}
	limit := pick(100000, 400)
	if len(answered) > limit {
		rng := newRand(t.Name() + "/sample")
		rng.Shuffle(len(answered), func(i, j int) { answered[i], answered[j] = answered[j], answered[i] })
		answered = answered[:limit]
	}
	n := 0
	for id := range ids {
		if n++; n > limit {
			break
		}
		cur := getOrder(t, svc.URL+"/orders/"+id.String())
		if cur == nil {
			continue
		}
		old := getOrder(t, svc.URL+"/orders/"+id.String()+"?version="+strconv.FormatInt(cur.Version, 10))
		if old == nil {
			continue
		}
		expectData(t, sameOrder(*cur, *old) == "", "order %s: GET differs from GET ?version=%d: %s", id, cur.Version, sameOrder(*cur, *old))
		expectData(t, l.showsContact(cur) && l.showsContact(old), "order %s: GET shows the contact as %+v, ?version=%d as %+v", id, cur.Contact, cur.Version, old.Contact)
		if evs := snap.orders[id]; int64(len(evs)) == cur.Version && evs[0].event != nil {
			d := sameOrder(*cur, foldAt(evs, cur.Version))
			expectData(t, d == "", "order %s: GET differs from the fold of its events: %s", id, d)
		} else {
			expectData(t, false, "order %s: GET shows version %d, the log has %d events", id, cur.Version, len(evs))
		}
	}
	for _, c := range answered {
		old := getOrder(t, svc.URL+"/orders/"+c.OrderID.String()+"?version="+strconv.FormatInt(c.Order.Version, 10))
		if old != nil {
			d := sameOrder(*c.Order, *old)
			expectData(t, d == "", "%s: its answer differs from GET ?version=%d: %s", c, c.Order.Version, d)
			expectData(t, l.showsContact(c.Order), "%s: its answer shows the contact as %+v", c, c.Order.Contact)
		}
	}
}

func getOrder(t *testing.T, url string) *api.Order {
	t.Helper()
	r := mustSendChecked(t, http.MethodGet, url, nil)
	if !expectData(t, r.Status == http.StatusOK, "GET %s: %s", url, r) {
		return nil
	}
	var o api.Order
	if err := json.Unmarshal(r.Body, &o); err != nil {
		expectData(t, false, "GET %s: %v", url, err)
		return nil
	}
	expectData(t, r.Header.Get("ETag") == strconv.Quote(strconv.FormatInt(o.Version, 10)), "GET %s: ETag %q, version %d", url, r.Header.Get("ETag"), o.Version)
	return &o
}

// runVerify runs `orders verify` on the database: exit 0 means consistent, 1 that it
// found differences (one line each, then a summary line starting "verify:"), 2 an
// error.
func runVerify(t *testing.T, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "verify")
	cmd.Env = serviceEnv(dbURL, "127.0.0.1:0", nil)
	out, err := cmd.CombinedOutput()
	stats.verifyRuns.Add(1)
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("orders verify: %v", err)
	}
	text := strings.TrimSpace(string(out))
	summary := ""
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "verify:") {
			summary = line
		}
	}
	switch code {
	case 0:
		expectData(t, summary != "", "orders verify exited 0 without a summary line starting \"verify:\":\n%s", text)
		// Every aggregate the run wrote registers its read model (infrastructure/wiring).
		expectData(t, !strings.Contains(text, "verify: skipped stream type"), "orders verify skipped a stream type:\n%s", text)
		t.Logf("orders verify: %s", summary)
	case 1:
		expectData(t, false, "orders verify found differences:\n%s", text)
	default:
		expectData(t, false, "orders verify failed (exit %d):\n%s", code, text)
	}
}

// expectData is expect for the consistency of the data: the log, the read model, the
// ledger of acknowledged commands, `orders verify`. Its failures are counted apart.
func expectData(t testing.TB, ok bool, format string, args ...any) bool {
	t.Helper()
	if !ok {
		stats.dataDifferences.Add(1)
	}
	return expect(t, ok, format, args...)
}
