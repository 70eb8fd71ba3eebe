package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// compareWith prints the headline figures of an earlier run (its JSON) next to this
// run's, so that a change to the service can be judged at a glance. Only ratios are
// comparable across machines; absolute numbers only on the same machine.
func compareWith(w io.Writer, path string, now *report) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var then report
	if err := json.Unmarshal(b, &then); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	t := table{title: fmt.Sprintf("Compared with %s (%s mode, %s)", path, then.Mode, then.Started),
		header: []string{"figure", "then", "now", "change"}}
	row := func(name string, a, b float64, format string) {
		change := "n/a"
		if a != 0 {
			change = fmt.Sprintf("%+.0f%%", 100*(b-a)/a)
		}
		t.rows = append(t.rows, []string{name, fmt.Sprintf(format, a), fmt.Sprintf(format, b), change})
	}
	for _, p := range now.Place {
		for _, q := range then.Place {
			if q.Concurrency == p.Concurrency {
				row(fmt.Sprintf("place order ops/s, %d workers", p.Concurrency), q.HTTP.RPS, p.HTTP.RPS, "%.0f")
				row(fmt.Sprintf("place order / CRUD, %d workers", p.Concurrency), q.VsCRUD, p.VsCRUD, "%.2fx")
				row(fmt.Sprintf("place order / naive, %d workers", p.Concurrency), q.VsNaive, p.VsNaive, "%.2fx")
				row(fmt.Sprintf("place order / floor, %d workers", p.Concurrency), q.VsFloor, p.VsFloor, "%.2fx")
				row(fmt.Sprintf("place order p99 ms, %d workers", p.Concurrency), q.HTTP.P99, p.HTTP.P99, "%.2f")
			}
		}
	}
	for _, a := range now.AddLine {
		for _, q := range then.AddLine {
			if q.Concurrency == a.Concurrency {
				row(fmt.Sprintf("add line ops/s, %d workers", a.Concurrency), q.HTTP.RPS, a.HTTP.RPS, "%.0f")
				row(fmt.Sprintf("add line / CRUD, %d workers", a.Concurrency), q.VsCRUD, a.VsCRUD, "%.2fx")
				row(fmt.Sprintf("add line / naive, %d workers", a.Concurrency), q.VsRaw, a.VsRaw, "%.2fx")
			}
		}
	}
	if now.Contention != nil && then.Contention != nil {
		row("contention: added/s", then.Contention.SuccessRate, now.Contention.SuccessRate, "%.0f")
		row("contention: failed attempts per added line", then.Contention.RetriesPerSuccess, now.Contention.RetriesPerSuccess, "%.2f")
		row("contention: p99 ms", then.Contention.Load.P99, now.Contention.Load.P99, "%.1f")
	}
	if now.StreamRatio != 0 && then.StreamRatio != 0 {
		row("add-line p50, longest / shortest stream", then.StreamRatio, now.StreamRatio, "%.2fx")
	}
	row("service peak RSS MiB", then.Memory.PeakMiB, now.Memory.PeakMiB, "%.1f")
	_, _ = fmt.Fprintln(w, t.text())
	return nil
}
