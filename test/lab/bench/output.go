package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// printReport writes the tables to w.
func printReport(w io.Writer, r *report) {
	_, _ = fmt.Fprintf(w, "\n%s\n\n", environmentLines(r, "", "\n"))
	for _, t := range tables(r) {
		_, _ = fmt.Fprintln(w, t.text())
	}
	if len(r.Failures) == 0 {
		_, _ = fmt.Fprintf(w, "Correctness: all %d checks passed.\n", r.Passed)
		return
	}
	_, _ = fmt.Fprintf(w, "Correctness: %d passed, %d FAILED:\n", r.Passed, len(r.Failures))
	for _, f := range r.Failures {
		_, _ = fmt.Fprintf(w, "  [%s] %s\n", f.Scenario, f.Detail)
	}
}

// environmentLines says where and how the numbers were taken.
func environmentLines(r *report, bullet, sep string) string {
	m, pg := r.Machine, r.Postgres
	var settings []string
	for _, kv := range pg.Settings {
		settings = append(settings, kv[0]+"="+kv[1])
	}
	lines := []string{
		fmt.Sprintf("Run: %s mode, %s, %.0f s", r.Mode, r.Started, r.Seconds),
		fmt.Sprintf("Machine: %d CPUs (%s), %s GiB RAM, Linux %s, load average at start %s", m.CPUs, m.CPUModel, m.MemoryGiB, m.Kernel, m.LoadAvg),
		"Go: " + m.Go,
		"PostgreSQL: " + firstWords(pg.Version, 2) + ", " + shortHow(pg.How),
		"PostgreSQL settings: " + strings.Join(settings, ", "),
		fmt.Sprintf("Service: ./cmd/orders at %s, serve --migrate, DB_MAX_CONNS=%d, LOG_LEVEL=%s; the harness, the service and PostgreSQL share the machine",
			r.Service.Commit, r.Service.MaxConns, r.Service.LogLevel),
		"Method: " + r.Method.Summary,
	}
	for _, n := range r.Notes {
		lines = append(lines, "Note: "+n)
	}
	for i := range lines {
		lines[i] = bullet + lines[i]
	}
	return strings.Join(lines, sep)
}

// shortHow drops the why of test/postgres's fallback ("(no container: <the Docker
// error>)") from how the server was obtained.
func shortHow(how string) string {
	if i := strings.Index(how, " (no container: "); i >= 0 {
		return how[:i] + " (no usable container image)"
	}
	return how
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// markdown is the whole result as markdown, for docs/benchmarks.md.
func markdown(r *report) string {
	var b strings.Builder
	b.WriteString(environmentLines(r, "- ", "\n") + "\n\n")
	for _, t := range tables(r) {
		b.WriteString(t.markdown() + "\n")
	}
	if len(r.Failures) == 0 {
		fmt.Fprintf(&b, "Correctness: all %d checks passed.\n", r.Passed)
	} else {
		fmt.Fprintf(&b, "Correctness: %d passed, **%d failed**:\n\n", r.Passed, len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- [%s] %s\n", f.Scenario, f.Detail)
		}
	}
	return b.String()
}

func serverLogPath(cfg config) string {
	return filepath.Join(cfg.outDir, "server-"+cfg.mode()+".log")
}

// writeOutputs writes <mode>.json and <mode>.md (the latest run), a timestamped copy
// of the JSON (to compare runs), and in full mode the charts; with -update-doc it also
// replaces the generated part of docs/benchmarks.md.
func writeOutputs(cfg config, r *report) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	stamp := r.started.Format("20060102-150405")
	md := markdown(r)
	files := map[string][]byte{
		filepath.Join(cfg.outDir, cfg.mode()+".json"):           js,
		filepath.Join(cfg.outDir, cfg.mode()+"-"+stamp+".json"): js,
		filepath.Join(cfg.outDir, cfg.mode()+".md"):             []byte(md),
	}
	if !cfg.smoke {
		if len(r.Place) > 0 {
			files[filepath.Join(cfg.chartsDir, "bench-latency.svg")] = []byte(latencyChart(r))
		}
		if len(r.Streams) > 0 {
			files[filepath.Join(cfg.chartsDir, "bench-stream-length.svg")] = []byte(streamChart(r))
		}
	}
	// The service's own view of the run; in smoke mode next to the JSON, not in docs/.
	if r.Timeline != nil {
		dir := cfg.chartsDir
		if cfg.smoke {
			dir = cfg.outDir
		}
		chart, err := serviceChart(r.Timeline, fmt.Sprintf("%s run, %s; scraped every %gs", r.Mode, r.Started, r.Timeline.Interval))
		if err != nil {
			return err
		}
		if chart != nil {
			files[filepath.Join(dir, "bench-service.png")] = chart
		}
	}
	for path, data := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
		logf("wrote %s", path)
	}
	if cfg.updateDoc {
		if cfg.smoke {
			logf("-update-doc ignored in smoke mode: its numbers mean nothing")
			return nil
		}
		return updateDoc(cfg.docPath(), md)
	}
	return nil
}

// rerender writes the markdown, the charts and (with -update-doc) the doc of an
// earlier run again, from its JSON: for changes to the presentation, not the numbers.
func rerender(cfg config) error {
	b, err := os.ReadFile(cfg.render)
	if err != nil {
		return err
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", cfg.render, err)
	}
	if r.started, err = time.Parse(time.RFC3339, r.Started); err != nil {
		return fmt.Errorf("%s: started: %w", cfg.render, err)
	}
	cfg.smoke = r.Mode == "smoke"
	printReport(os.Stdout, &r)
	return writeOutputs(cfg, &r)
}

// Markers around the generated part of docs/benchmarks.md.
const (
	docBegin = "<!-- bench:begin (generated by make bench BENCH_FLAGS=-update-doc; edit outside these markers) -->"
	docEnd   = "<!-- bench:end -->"
)

// updateDoc replaces what lies between the markers in the document with md.
func updateDoc(path, md string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, docBegin), strings.Index(s, docEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %q and %q not found", path, docBegin, docEnd)
	}
	s = s[:i+len(docBegin)] + "\n\n" + md + "\n" + s[j:]
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		return err
	}
	logf("updated %s (%s)", path, time.Now().Format(time.DateOnly))
	return nil
}
