// Package grafana holds the service's Grafana dashboard; its test checks that every
// query names only metrics the service exports (the list below), and that every such
// metric is shown somewhere.
package grafana

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// metric types, for the series names they allow.
const (
	counter   = "counter"   // name
	gauge     = "gauge"     // name
	histogram = "histogram" // name_bucket, name_sum, name_count
	summary   = "summary"   // name (quantiles), name_sum, name_count
)

// exported is what the service exports (infrastructure/metrics: keep them in step).
// The dashboard may use these and nothing else.
var exported = map[string]string{
	"orders_http_requests_total":                counter, // method, route, status
	"orders_http_request_duration_seconds":      histogram,
	"orders_commands_total":                     counter, // command, outcome
	"orders_command_attempts":                   histogram,
	"orders_eventstore_append_duration_seconds": histogram,
	"orders_events_appended_total":              counter, // stream_type
	"orders_db_pool_acquired_conns":             gauge,
	"orders_db_pool_idle_conns":                 gauge,
	"orders_db_pool_total_conns":                gauge,
	"orders_db_pool_waiting_acquires":           gauge,
	"orders_consumer_position":                  gauge, // consumer
	"orders_consumer_lag_events":                gauge, // consumer
	"orders_consumer_lag_seconds":               gauge, // consumer
	"orders_consumer_stopped":                   gauge, // consumer
	"orders_consumer_stats_age_seconds":         gauge,
	"orders_consumer_stats_errors_total":        counter,
	// client_golang's Go and process collectors
	"go_goroutines":                 gauge,
	"go_memstats_heap_inuse_bytes":  gauge,
	"go_gc_duration_seconds":        summary,
	"process_cpu_seconds_total":     counter,
	"process_resident_memory_bytes": gauge,
	// written by Prometheus itself for every scrape target
	"up": gauge,
}

// optional are exported metrics the dashboard need not show.
var optional = []string{}

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func load(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile("orders-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("orders-dashboard.json: %v", err)
	}
	return d
}

// all returns the panels, those inside collapsed rows included.
func all(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, all(p.Panels)...)
	}
	return out
}

var (
	stringLit  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	matchers   = regexp.MustCompile(`\{[^}]*\}`)
	ranges     = regexp.MustCompile(`\[[^\]]*\]`)
	numbers    = regexp.MustCompile(`\b[0-9][0-9a-zA-Z_.]*`) // 0.99, 5m, 1e3
	grouping   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	identifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	keywords   = []string{"and", "or", "unless", "bool", "offset", "inf", "nan"}
)

// metricNames returns the series names a PromQL expression selects: what remains after
// strings, label matchers, ranges, grouping clauses and numbers are cut out, and is
// neither a function call nor a keyword.
func metricNames(expr string) []string {
	s := stringLit.ReplaceAllString(expr, `""`)
	s = matchers.ReplaceAllString(s, " ")
	s = ranges.ReplaceAllString(s, " ")
	s = grouping.ReplaceAllString(s, " ")
	s = numbers.ReplaceAllString(s, " ")
	var names []string
	for _, m := range identifier.FindAllStringSubmatch(s, -1) {
		if m[1] != "" || slices.Contains(keywords, strings.ToLower(m[0])) {
			continue // a function, or an operator
		}
		names = append(names, m[0])
	}
	return names
}

// family returns the exported metric a series name belongs to, or "".
func family(series string) string {
	if _, ok := exported[series]; ok && exported[series] != histogram {
		return series
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(series, suffix)
		if !ok {
			continue
		}
		switch exported[base] {
		case histogram:
			return base
		case summary:
			if suffix != "_bucket" {
				return base
			}
		}
	}
	return ""
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (le) (rate(a_bucket{job=~"$job",x="y{z}"}[$__rate_interval]))`: {"a_bucket"},
		`sum(rate(a_total[5m])) / ignoring(status) sum(b)`:                     {"a_total", "b"},
		`count(up == 1) and on (instance) c offset 5m`:                         {"up", "c"},
		`histogram_quantile(0.99, sum without (pod) (rate(d_bucket[1m])))`:     {"d_bucket"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

func TestDashboardUsesOnlyExportedMetrics(t *testing.T) {
	d := load(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: both are needed for provisioning", d.UID, d.Title)
	}
	shown := map[string]bool{}
	ids := map[int]string{}
	exprs := 0
	for _, p := range all(d.Panels) {
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos.X < 0 || p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v does not fit 24 columns", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		for _, target := range p.Targets {
			exprs++
			names := metricNames(target.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q, query %s: no metric in %q", p.Title, target.RefID, target.Expr)
			}
			for _, n := range names {
				f := family(n)
				if f == "" {
					t.Errorf("panel %q, query %s: %q is not an exported metric (or the wrong series of one): %s", p.Title, target.RefID, n, target.Expr)
					continue
				}
				shown[f] = true
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
			continue
		}
		if m := regexp.MustCompile(`label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)`).FindStringSubmatch(q.Query); m == nil || family(m[1]) == "" {
			t.Errorf("variable %s: query %q does not name an exported metric", v.Name, q.Query)
		}
	}
	if exprs < 20 {
		t.Errorf("%d queries; the dashboard seems to have lost panels", exprs)
	}
	for name := range exported {
		if !shown[name] && !slices.Contains(optional, name) {
			t.Errorf("the exported metric %s is on no panel", name)
		}
	}
}
