package main

import (
	"fmt"
	"strings"

	"github.com/example/orders/domain/order"
)

// table is one block of results, rendered as text for the terminal and as markdown
// for docs/benchmarks.md.
type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

// tables lays the report out.
func tables(r *report) []table {
	var ts []table
	f0 := func(x float64) string { return fmt.Sprintf("%.0f", x) }
	f2 := func(x float64) string { return fmt.Sprintf("%.2f", x) }
	rps := func(x result) string {
		if x.Runs > 1 {
			return fmt.Sprintf("%.0f (%.0f-%.0f)", x.RPS, x.RPSMin, x.RPSMax)
		}
		return f0(x.RPS)
	}
	median := "median of " + fmt.Sprint(r.Method.Rounds) + " interleaved rounds"
	if r.Method.Rounds == 1 {
		median = "one round"
	}

	if len(r.Place) > 0 {
		t := table{title: "Place order (POST /orders) vs the raw-SQL limits, " + median,
			header: []string{"workers", "HTTP ops/s", "p50 ms", "p95 ms", "p99 ms", "errors",
				"CRUD ops/s", "p50 ms", "p99 ms", "naive SQL ops/s", "p50 ms", "p99 ms", "floor ops/s", "p50 ms", "p99 ms", "HTTP/CRUD", "HTTP/naive", "HTTP/floor"}}
		for _, p := range r.Place {
			t.rows = append(t.rows, []string{fmt.Sprint(p.Concurrency), rps(p.HTTP), f2(p.HTTP.P50), f2(p.HTTP.P95), f2(p.HTTP.P99),
				fmt.Sprint(p.HTTP.Errors + p.Naive.Errors + p.Floor.Errors + p.CRUD.Errors), rps(p.CRUD), f2(p.CRUD.P50), f2(p.CRUD.P99),
				rps(p.Naive), f2(p.Naive.P50), f2(p.Naive.P99),
				rps(p.Floor), f2(p.Floor.P50), f2(p.Floor.P99), f2(p.VsCRUD) + "x", f2(p.VsNaive) + "x", f2(p.VsFloor) + "x"})
			t.notes = append(t.notes, fmt.Sprintf("answers at concurrency %d: HTTP %s; CRUD %s; naive %s; floor %s", p.Concurrency,
				statuses(p.HTTP.Status), statuses(p.CRUD.Status), statuses(p.Naive.Status), statuses(p.Floor.Status)))
		}
		if w := r.PlaceWithConsumers; w != nil {
			if p, ok := r.placeAt(w.Concurrency); ok && p.Concurrency == w.Concurrency {
				t.notes = append(t.notes, fmt.Sprintf("with the asynchronous consumers running in the service (median of %d runs after the comparisons, not interleaved): %s ops/s at %d workers, p50 %s ms, p99 %s ms: %.2fx the CRUD median above; CPU per place in the CPU table",
					w.Runs, rps(*w), w.Concurrency, f2(w.P50), f2(w.P99), ratio(w.RPS, p.CRUD.RPS)))
			}
		}
		ts = append(ts, t)
	}
	if len(r.Personal) > 0 {
		t := table{title: "Place order with a contact (sealed under the customer's data key) vs without, " + median,
			header: []string{"workers", "without ops/s", "p50 ms", "service CPU ms/op", "with ops/s", "p50 ms", "service CPU ms/op", "errors", "ops/s with/without", "CPU with/without"}}
		for _, p := range r.Personal {
			t.rows = append(t.rows, []string{fmt.Sprint(p.Concurrency), rps(p.Plain), f2(p.Plain.P50), fmt.Sprintf("%.3f", p.Plain.CPU.Service),
				rps(p.Contact), f2(p.Contact.P50), fmt.Sprintf("%.3f", p.Contact.CPU.Service), fmt.Sprint(p.Plain.Errors + p.Contact.Errors),
				f2(p.RPSRatio) + "x", f2(p.CPURatio) + "x"})
		}
		t.notes = append(t.notes, "with a contact: the customer's data key (one more statement on its first order, then checked by the events' insert), AES-256-GCM sealing, and the sealed JSON in order_overview")
		for _, p := range r.Personal {
			if p.SealCPU > 0 && p.Plain.CPU.Service > 0 {
				t.notes = append(t.notes, fmt.Sprintf("of that, sealing itself at %d workers (personaldata's Seal: the clear value's JSON, AES-256-GCM, the data key; its share of the with-contact run's CPU profile): %.0f µs per place, %.1f%% of a place without a contact",
					p.Concurrency, 1000*p.SealCPU, 100*p.SealCPU/p.Plain.CPU.Service))
			}
		}
		ts = append(ts, t)
	}
	if len(r.AddLine) > 0 {
		t := table{title: fmt.Sprintf("Add line (POST /orders/{id}/lines) to existing orders vs raw SQL, %s (every worker its own orders, at most %d lines each)", median, linesPerOrder),
			header: []string{"workers", "HTTP ops/s", "p50 ms", "p95 ms", "p99 ms", "errors", "CRUD ops/s", "p50 ms", "p99 ms", "naive SQL ops/s", "p50 ms", "p99 ms", "HTTP/CRUD", "HTTP/naive"}}
		for _, a := range r.AddLine {
			t.rows = append(t.rows, []string{fmt.Sprint(a.Concurrency), rps(a.HTTP), f2(a.HTTP.P50), f2(a.HTTP.P95), f2(a.HTTP.P99),
				fmt.Sprint(a.HTTP.Errors + a.Raw.Errors + a.CRUD.Errors), rps(a.CRUD), f2(a.CRUD.P50), f2(a.CRUD.P99),
				rps(a.Raw), f2(a.Raw.P50), f2(a.Raw.P99), f2(a.VsCRUD) + "x", f2(a.VsRaw) + "x"})
		}
		t.notes = append(t.notes, r.AddLineStreams...)
		ts = append(ts, t)
	}
	if c := r.Contention; c != nil {
		retries := "not measured"
		if c.RetriesMeasured {
			retries = fmt.Sprintf("%.2f (%d)", c.RetriesPerSuccess, c.Rollbacks)
		}
		t := table{title: fmt.Sprintf("Contention: %d clients adding lines to %d hot orders", c.Clients, c.Orders),
			header: []string{"seconds", "added/s", "added", "409 conflicts", "failed attempts per added line (total)", "p50 ms", "p99 ms", "p99 ms of 200s", "lost", "duplicated", "stored despite 409"},
			rows: [][]string{{fmt.Sprintf("%.1f", c.Load.Seconds), f0(c.SuccessRate), fmt.Sprint(c.Successes), fmt.Sprint(c.Conflicts), retries,
				f2(c.Load.P50), f2(c.Load.P99), f2(c.SuccessP99), fmt.Sprint(c.Lost), fmt.Sprint(c.Duplicated), fmt.Sprint(c.Phantom)}},
			notes: []string{"statuses: " + statuses(c.Load.Status),
				"failed attempts = transactions the service rolled back (pg_stat_database.xact_rollback); each lost race is one, and a 409 is " +
					"an answer after the last attempt lost too"}}
		if c.LinesPerOrder > 0 {
			t.notes = append(t.notes, fmt.Sprintf("an order holds at most %d lines (order.MaxLines), so each group of %d clients moves on to a fresh order "+
				"once its order has taken %d requests: %d clients on each of the %d orders at a time, %d generation(s) of orders, %d lines in the fullest",
				order.MaxLines, c.Clients/max(1, c.Orders), c.LinesPerOrder, c.Clients/max(1, c.Orders), c.Orders, c.Generations, c.MaxLineCount))
		}
		if c.RetriesNote != "" {
			t.notes = append(t.notes, c.RetriesNote)
		}
		for _, o := range c.PerOrder {
			n := fmt.Sprintf("order %s (generation %d): %d acknowledged, %d conflicts; line_count %d, version %d, %d events", o.ID, o.Generation, o.Acked, o.Conflicts, o.LineCount, o.Version, o.Events)
			if o.Problem != "" {
				n += "; PROBLEM: " + o.Problem
			}
			t.notes = append(t.notes, n)
		}
		ts = append(ts, t)
	}
	if len(r.Streams) > 0 {
		t := table{title: "Add-line latency (Prefer: return=minimal) against stream length (1 worker)",
			header: []string{"events in stream", "orders", "samples", "add line p50 ms", "p95 ms", "p99 ms", "first command after raw fill p50 ms",
				"first command after restart p50 ms", "orders with snapshot", "GET order p50 ms", "GET response KiB"}}
		for _, s := range r.Streams {
			t.rows = append(t.rows, []string{thousands(s.Length), fmt.Sprint(s.Orders), fmt.Sprint(s.AddLine.Ops), f2(s.AddLine.P50), f2(s.AddLine.P95),
				f2(s.AddLine.P99), f2(s.ColdP50), f2(s.RestartP50), fmt.Sprint(s.Snapshots), f2(s.Get.P50), fmt.Sprintf("%.1f", s.RespKiB)})
		}
		a, b := r.Streams[0], r.Streams[len(r.Streams)-1]
		t.notes = append(t.notes, fmt.Sprintf("p50 at %s events / p50 at %s events = %.2fx", thousands(b.Length), thousands(a.Length), r.StreamRatio),
			fmt.Sprintf("each length has enough orders that none grows by more than a tenth while measured, nor past order.MaxLines (%d lines: "+
				"no stream can be longer than %d events); add line answers 204 (return=minimal), the GET carries every line of the order", order.MaxLines, order.MaxLines+1),
			"first command after raw fill: the service's cache is behind by the filled events and there is no snapshot yet, so it folds them all; "+
				"first command after restart: nothing cached in memory, the state comes from the snapshot its warm-up command wrote")
		ts = append(ts, t)
	}
	if len(r.Reads) > 0 {
		t := table{title: "Reads", header: []string{"workers", "GET /orders/{id} req/s", "p50 ms", "p99 ms", "GET /orders?limit=20 req/s", "p50 ms", "p99 ms"}}
		for _, x := range r.Reads {
			t.rows = append(t.rows, []string{fmt.Sprint(x.Concurrency), f0(x.GetOrder.RPS), f2(x.GetOrder.P50), f2(x.GetOrder.P99),
				f0(x.ListPage.RPS), f2(x.ListPage.P50), f2(x.ListPage.P99)})
		}
		ts = append(ts, t)
	}
	if f := r.Feed; f != nil {
		t := table{title: "Event feed", header: []string{"measure", "value"}}
		t.rows = append(t.rows,
			[]string{fmt.Sprintf("events written by %d clients placing orders, per s", f.Writers), f0(f.WrittenPerS)},
			[]string{"events delivered to one SSE client, per s", f0(f.DeliveredPerS)},
			[]string{"delivered / written", fmt.Sprintf("%d / %d", f.Delivered, f.Placed)},
			[]string{"lag p50 / p99 ms (recorded_at to arrival)", f2(f.LagP50) + " / " + f2(f.LagP99)},
			[]string{"caught up after the load, ms", f0(f.CatchUpMs)})
		for _, p := range f.Page {
			t.rows = append(t.rows, []string{fmt.Sprintf("GET /events?limit=100, %d workers: req/s, p50, p99 ms", p.Concurrency),
				f0(p.RPS) + ", " + f2(p.P50) + ", " + f2(p.P99)})
		}
		ts = append(ts, t)
	}
	// /proc counts CPU in 10 ms ticks: smoke runs are too short for this table.
	if cpu := cpuTable(r); len(cpu.rows) > 0 && r.Mode != "smoke" {
		ts = append(ts, cpu)
	}
	if len(r.Profiles) > 0 {
		t := table{title: fmt.Sprintf("Where the service's (and the CRUD server's) CPU goes (µs per request: the share of its CPU profile, taken during the first HTTP run at %d workers, times its CPU per request in the CPU table)", profileWorkers),
			header: []string{"category"}}
		for _, p := range r.Profiles {
			t.header = append(t.header, p.Name)
		}
		for _, name := range shareNames() {
			row := []string{name}
			for _, p := range r.Profiles {
				row = append(row, fmt.Sprintf("%.0f", 1000*p.CPUPerOp*p.Shares[name]))
			}
			t.rows = append(t.rows, row)
		}
		total := []string{"**total (from /proc)**"}
		for _, p := range r.Profiles {
			total = append(total, fmt.Sprintf("**%.0f**", 1000*p.CPUPerOp))
		}
		t.rows = append(t.rows, total)
		t.notes = append(t.notes, "a sample counts for the consumers if any frame is theirs, for system calls or the collector by the leaf, else for the library nearest the leaf (test/lab/bench/profile_shares.go); a row is good to about ±10 µs")
		ts = append(ts, t)
	}
	if len(r.Memory.ByScenario) > 0 {
		t := table{title: "Service memory (VmHWM = peak resident set since start, from /proc/<pid>/status)",
			header: []string{"after", "peak RSS MiB", "RSS MiB"}}
		for _, m := range r.Memory.ByScenario {
			t.rows = append(t.rows, []string{m.Scenario, fmt.Sprintf("%.1f", m.PeakMiB), fmt.Sprintf("%.1f", m.RSSMiB)})
		}
		t.rows = append(t.rows, []string{"end of run", fmt.Sprintf("%.1f", r.Memory.PeakMiB), fmt.Sprintf("%.1f", r.Memory.EndRSSMiB)})
		ts = append(ts, t)
	}
	if len(r.Targets) > 0 {
		t := table{title: "Targets", header: []string{"goal", "this run", "met"}}
		for _, g := range r.Targets {
			t.rows = append(t.rows, []string{g.Goal, g.Value, map[bool]string{true: "yes", false: "NO"}[g.Met]})
		}
		if r.Mode == "smoke" {
			t.notes = append(t.notes, "smoke mode: counts are too small for these figures to mean anything")
		}
		ts = append(ts, t)
	}
	return ts
}

// cpuTable says where the CPU time of the comparison runs went, per operation.
func cpuTable(r *report) table {
	t := table{title: "CPU per operation (ms; from /proc: the service process or the CRUD server, PostgreSQL's processes, this harness, everything else)",
		header: []string{"operation", "workers", "service or CRUD server", "PostgreSQL", "harness", "other", "machine busy %", "steal %", "service read/write syscalls per op"}}
	add := func(x result) {
		pg := "n/a"
		if x.CPU.Postgres != nil {
			pg = fmt.Sprintf("%.3f", *x.CPU.Postgres)
		}
		t.rows = append(t.rows, []string{x.Name, fmt.Sprint(x.Concurrency), fmt.Sprintf("%.3f", x.CPU.Service+x.CPU.CRUD), pg,
			fmt.Sprintf("%.3f", x.CPU.Harness), fmt.Sprintf("%.3f", x.CPU.Other), fmt.Sprintf("%.0f", x.CPU.BusyPct), fmt.Sprintf("%.1f", x.CPU.StealPct),
			fmt.Sprintf("%.1f / %.1f", x.CPU.SvcReads, x.CPU.SvcWrites)})
	}
	for _, p := range r.Place {
		add(p.HTTP)
		add(p.CRUD)
		add(p.Naive)
		add(p.Floor)
	}
	if r.PlaceWithConsumers != nil {
		add(*r.PlaceWithConsumers)
	}
	for _, a := range r.AddLine {
		add(a.HTTP)
		add(a.CRUD)
		add(a.Raw)
	}
	return t
}

// text renders a table for the terminal.
func (t table) text() string {
	widths := make([]int, len(t.header))
	for i, h := range t.header {
		widths[i] = len([]rune(h))
	}
	for _, row := range t.rows {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	b.WriteString(t.title + "\n")
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		b.WriteString("\n")
	}
	line(t.header)
	for _, row := range t.rows {
		line(row)
	}
	for _, n := range t.notes {
		b.WriteString("  " + n + "\n")
	}
	return b.String()
}

// markdown renders a table for docs/benchmarks.md.
func (t table) markdown() string {
	var b strings.Builder
	b.WriteString("**" + t.title + "**\n\n")
	b.WriteString("| " + strings.Join(t.header, " | ") + " |\n")
	b.WriteString("| --- |" + strings.Repeat(" ---: |", len(t.header)-1) + "\n")
	for _, row := range t.rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	if len(t.notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}
