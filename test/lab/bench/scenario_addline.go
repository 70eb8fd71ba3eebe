package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
)

// addLineRow compares adding a line over HTTP with its raw-SQL equivalent.
type addLineRow struct {
	Concurrency int     `json:"concurrency"`
	HTTP        result  `json:"http"`
	Raw         result  `json:"naive_sql"`
	VsRaw       float64 `json:"http_rps_over_naive_rps"`
	CRUD        result  `json:"crud"`
	VsCRUD      float64 `json:"http_rps_over_crud_rps"`
}

// The orders of the add-line scenario start with prefilledLines lines (created in bulk
// with the rows the service would write, see createOrders), and a worker
// adds at most linesPerOrder to one order before it takes a fresh one, so streams stay
// short (4 to 20 events) however long the runs are: the naive path reads the whole
// stream, and the comparison is about adding a line, not about long streams (that is
// the stream-length scenario).
const (
	prefilledLines = 3
	linesPerOrder  = 16
)

// orderPool is one contender's supply of fresh orders. An order is handed to one
// worker only, so there is no contention; each worker keeps its current order across
// runs.
type orderPool struct {
	mu       sync.Mutex
	ids      []string
	acked    []int // lines acknowledged per order, written by the worker holding it
	next     int
	overflow atomic.Int64 // lines added beyond linesPerOrder because the pool ran dry
	best     float64      // the fastest rate seen, operations per second
}

func (p *orderPool) take() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == len(p.ids) {
		return 0, false
	}
	p.next++
	return p.next - 1, true
}

func (p *orderPool) spare() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids) - p.next
}

func (p *orderPool) add(ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, ids...)
	p.acked = append(p.acked, make([]int, len(ids))...)
}

// poolWorker is a worker's place in a pool: its current order and lines added to it.
type poolWorker struct {
	cur, n, seq int
}

// order returns the index of the order the worker adds its next line to.
func (w *poolWorker) order(p *orderPool) (int, error) {
	if w.cur < 0 || w.n >= linesPerOrder {
		k, ok := p.take()
		switch {
		case ok:
			w.cur, w.n = k, 0
		case w.cur < 0:
			return 0, fmt.Errorf("no order left in the pool")
		default:
			p.overflow.Add(1)
		}
	}
	w.n++
	w.seq++
	return w.cur, nil
}

// topUp makes sure the pool holds enough fresh orders for the next run at concurrency
// conc, creating them in bulk (unmeasured). A run is sized for twice the fastest rate
// seen so far, and at least 6,000 operations per second; should a faster run still
// drain the pool, workers keep adding to their current orders and the report says how
// many lines that was.
func (p *orderPool) topUp(ctx context.Context, env *environment, create func(ctx context.Context, n int) ([]string, error), conc int, last *sample) error {
	ops := float64(env.cfg.count(conc))
	if !env.cfg.smoke {
		if last != nil && last.elapsed > 0 {
			p.best = max(p.best, float64(len(last.latencies))/last.elapsed.Seconds())
		}
		ops = max(6000, 2*p.best) * env.cfg.duration.Seconds()
	}
	need := int(ops)/linesPerOrder + 2*conc - p.spare()
	if need <= 0 {
		return nil
	}
	ids, err := create(ctx, need)
	if err != nil {
		return err
	}
	p.add(ids)
	return nil
}

// runAddLine is scenario 3: POST /orders/{id}/lines on existing orders against the
// raw-SQL equivalent (read the stream, move the head with a version check, insert the
// event, update the read model), interleaved.
func runAddLine(ctx context.Context, env *environment, rep *report) error {
	workers := env.cfg.maxConcurrency()
	pools := map[string]*orderPool{"http": {}, "naive": {}, "crud": {}}
	states := map[string][]poolWorker{}
	for name := range pools {
		states[name] = make([]poolWorker, workers)
		for i := range states[name] {
			states[name][i].cur = -1
		}
	}
	raw := newRawWriter(env.pool)
	adders := map[string]func(ctx context.Context, id, sku string, qty int, price int64) outcome{
		"naive": func(ctx context.Context, id, sku string, qty int, price int64) outcome {
			return sqlOutcome(raw.addLineNaive(ctx, uuid.MustParse(id), sku, qty, price))
		},
		"http": func(ctx context.Context, id, sku string, qty int, price int64) outcome {
			a, err := env.http.addLine(ctx, id, sku, qty, price)
			return expect(a, err, http.StatusOK)
		},
		"crud": func(ctx context.Context, id, sku string, qty int, price int64) outcome {
			a, err := env.crudHTTP.addLine(ctx, id, sku, qty, price)
			return expect(a, err, http.StatusOK)
		},
	}
	creators := map[string]func(ctx context.Context, n int) ([]string, error){
		"crud": func(ctx context.Context, n int) ([]string, error) {
			return createCRUDOrders(ctx, env, n, prefilledLines)
		},
	}
	for _, name := range []string{"naive", "http"} {
		creators[name] = func(ctx context.Context, n int) ([]string, error) {
			ids, err := raw.createOrders(ctx, n, prefilledLines, "bench-addline")
			env.remember(ids...)
			return ids, err
		}
	}
	var cs []contender
	for _, name := range []string{"naive", "crud", "http"} {
		p, add, create := pools[name], adders[name], creators[name]
		profile := ""
		if name == "http" {
			profile = "add-line"
		}
		cs = append(cs, contender{
			name: name, profile: profile,
			prepare: func(ctx context.Context, conc int, last *sample) error {
				return p.topUp(ctx, env, create, conc, last)
			},
			newOp: func(_, i int) func(context.Context) outcome {
				w := &states[name][i]
				return func(ctx context.Context) outcome {
					k, err := w.order(p)
					if err != nil {
						return outcome{label: "no order", err: err}
					}
					qty, price := 1+w.seq%3, int64(100+w.seq%900)
					o := add(ctx, p.ids[k], fmt.Sprintf("%s-%d-%d", name, i, w.seq), qty, price)
					if o.err == nil {
						p.acked[k]++
					}
					return o
				}
			},
		})
	}
	if err := warmUp(ctx, env, cs); err != nil {
		return err
	}
	runs, err := interleave(ctx, env, "add-line", cs)
	if err != nil {
		return err
	}
	for _, conc := range env.cfg.concurrency {
		row := addLineRow{
			Concurrency: conc,
			HTTP:        summarize("add line (HTTP)", conc, runs["http"][conc]),
			Raw:         summarize("add line (naive SQL)", conc, runs["naive"][conc]),
			CRUD:        summarize("add line (CRUD server)", conc, runs["crud"][conc]),
		}
		row.VsRaw = ratio(row.HTTP.RPS, row.Raw.RPS)
		row.VsCRUD = ratio(row.HTTP.RPS, row.CRUD.RPS)
		rep.AddLine = append(rep.AddLine, row)
		for _, r := range []result{row.HTTP, row.Raw, row.CRUD} {
			rep.check("addline", r.Errors == 0 && r.Ops > 0, errorsOf(r))
		}
	}

	// Every acknowledged line is in its order, through either path.
	for _, name := range []string{"http", "naive"} {
		p := pools[name]
		longest, used := 0, 0
		for k := range p.ids[:p.next] {
			longest = max(longest, p.acked[k])
			used++
		}
		rep.AddLineStreams = append(rep.AddLineStreams, fmt.Sprintf("%s: %d orders used, streams of %d to %d events (%d lines added beyond %d per order: pool ran dry)",
			name, used, 1+prefilledLines, 1+prefilledLines+longest, p.overflow.Load(), linesPerOrder))
		if err := checkPool(ctx, env, p); err != nil {
			rep.check("addline", false, name+": "+err.Error())
		} else {
			rep.check("addline", true, "")
		}
	}
	if err := checkCRUDPool(ctx, env, pools["crud"]); err != nil {
		rep.check("addline", false, "crud: "+err.Error())
	} else {
		rep.check("addline", true, "")
	}
	return nil
}

// createCRUDOrders inserts n orders of the CRUD baseline, each with lines lines, in bulk
// (unmeasured), and returns their ids.
func createCRUDOrders(ctx context.Context, env *environment, n, lines int) ([]string, error) {
	ids := make([]uuid.UUID, n)
	out := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7())
		out[i] = ids[i].String()
	}
	_, err := env.pool.Exec(ctx, `
		WITH o AS (
			INSERT INTO crud_orders (id, customer_id, status, currency, total_cents, line_count, unit_count, version, placed_at, updated_at)
			SELECT id, 'bench-crud-addline', 'pending', 'EUR', $2::int * 1000, $2, $2, 1 + $2, now(), now() FROM unnest($1::uuid[]) AS id
			RETURNING id)
		INSERT INTO crud_order_lines (order_id, line_no, sku, quantity, unit_price_cents)
		SELECT o.id, l, 'prefill-' || l, 1, 1000 FROM o, generate_series(1, $2) AS l`, ids, lines)
	if err != nil {
		return nil, fmt.Errorf("create CRUD orders: %w", err)
	}
	return out, nil
}

// checkCRUDPool checks that every acknowledged line of the CRUD baseline is stored,
// once: the same check as the service's, so both sides did the same work.
func checkCRUDPool(ctx context.Context, env *environment, p *orderPool) error {
	ids, want := p.ids[:p.next], map[string]int64{}
	for k, id := range ids {
		want[id] = int64(prefilledLines + p.acked[k])
	}
	rows, err := env.pool.Query(ctx, `SELECT o.id::text, o.line_count, o.version,
			(SELECT count(*) FROM crud_order_lines l WHERE l.order_id = o.id)
		FROM crud_orders o WHERE o.id = ANY($1::uuid[])`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	var bad []string
	seen := 0
	for rows.Next() {
		var id string
		var lineCount, version, lines int64
		if err := rows.Scan(&id, &lineCount, &version, &lines); err != nil {
			return err
		}
		seen++
		if w := want[id]; lineCount != w || lines != w || version != w+1 {
			bad = append(bad, fmt.Sprintf("order %s: %d lines (%d rows), version %d; want %d lines", id, lineCount, lines, version, w))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if seen != len(ids) {
		bad = append(bad, fmt.Sprintf("%d of %d orders found", seen, len(ids)))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d order(s) disagree with the acknowledged lines: %v", len(bad), firstN(bad, 3))
	}
	return nil
}

// checkPool checks every used order of a pool in the database (events, head and read
// model all at 1 + prefilled + acknowledged), and a few through the service (read
// model, events and folded stream agree).
func checkPool(ctx context.Context, env *environment, p *orderPool) error {
	ids, want := p.ids[:p.next], map[string]int64{}
	for k, id := range ids {
		want[id] = int64(1 + prefilledLines + p.acked[k])
	}
	rows, err := env.pool.Query(ctx, `SELECT o.id::text, o.version, h.version,
			(SELECT count(*) FROM events e WHERE e.stream_type = 'order' AND e.stream_id = o.id::text),
			(SELECT count(*) FROM order_overview_lines l WHERE l.order_id = o.id)
		FROM order_overview o JOIN aggregate_heads h ON h.stream_type = 'order' AND h.stream_id = o.id::text
		WHERE o.id = ANY($1::uuid[])`, ids)
	if err != nil {
		return err
	}
	var bad []string
	seen := 0
	for rows.Next() {
		var id string
		var overview, head, events, lines int64
		if err := rows.Scan(&id, &overview, &head, &events, &lines); err != nil {
			return err
		}
		seen++
		if w := want[id]; overview != w || head != w || events != w || lines != w-1 {
			bad = append(bad, fmt.Sprintf("order %s: read model v%d, head v%d, %d events, %d lines; want v%d", id, overview, head, events, lines, w))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if seen != len(ids) {
		bad = append(bad, fmt.Sprintf("%d of %d orders found", seen, len(ids)))
	}
	for _, id := range ids[:min(5, len(ids))] {
		if err := checkOrder(ctx, env, id, want[id], want[id]-1); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d order(s) disagree with the acknowledged lines: %v", len(bad), firstN(bad, 3))
	}
	return nil
}

// prefill places n orders over HTTP, each with lines lines, at concurrency 8, and
// returns their ids.
func prefill(ctx context.Context, env *environment, n, lines int) ([]string, error) {
	ids := make([]string, n)
	errs := make(chan error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				id, o := env.http.placeOrder(ctx, fmt.Sprintf("bench-prefill-%d", k))
				if o.err != nil {
					errs <- fmt.Errorf("prefill: place: %w", o.err)
					continue
				}
				ids[k] = id
				for j := range lines {
					a, err := env.http.addLine(ctx, id, fmt.Sprintf("prefill-%d", j), 1, 1000)
					if o := expect(a, err, http.StatusOK); o.err != nil {
						errs <- fmt.Errorf("prefill: add line: %w", o.err)
						break
					}
				}
			}
		}()
	}
	for k := range n {
		next <- k
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	env.remember(ids...)
	return ids, nil
}

// checkOrder checks an order three ways: the read model (GET /orders/{id}) has the
// version and number of lines wanted, the events endpoint lists exactly version events,
// and the state folded from the events (GET ?version=) has the same lines and totals
// as the read model.
func checkOrder(ctx context.Context, env *environment, id string, version, lines int64) error {
	cur, err := env.http.getOrder(ctx, "/orders/"+id)
	if err != nil {
		return err
	}
	if cur.Version != version || int64(len(cur.Lines)) != lines {
		return fmt.Errorf("order %s: read model at version %d with %d lines, want %d with %d", id, cur.Version, len(cur.Lines), version, lines)
	}
	n, err := env.http.eventCount(ctx, id)
	if err != nil {
		return err
	}
	if int64(n) != version {
		return fmt.Errorf("order %s: %d events, want %d", id, n, version)
	}
	folded, err := env.http.getOrder(ctx, fmt.Sprintf("/orders/%s?version=%d", id, version))
	if err != nil {
		return err
	}
	if folded.Version != cur.Version || folded.LineCount != cur.LineCount || folded.TotalCents != cur.TotalCents ||
		len(folded.Lines) != len(cur.Lines) {
		return fmt.Errorf("order %s: folded stream (v%d, %d units, %d cents, %d lines) differs from the read model (v%d, %d units, %d cents, %d lines)",
			id, folded.Version, folded.LineCount, folded.TotalCents, len(folded.Lines), cur.Version, cur.LineCount, cur.TotalCents, len(cur.Lines))
	}
	for i := range cur.Lines {
		if cur.Lines[i] != folded.Lines[i] {
			return fmt.Errorf("order %s: line %d is %+v in the read model but %+v in the folded stream", id, i+1, cur.Lines[i], folded.Lines[i])
		}
	}
	return nil
}

func firstN(xs []string, n int) []string { return xs[:min(n, len(xs))] }
