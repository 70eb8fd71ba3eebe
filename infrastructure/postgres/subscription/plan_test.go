package subscription_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// `consumers status` and the metrics read a consumer's lag along the index, however
// long the log and the lag: with 200,000 events and a consumer 199,980 behind, they
// look at a handful of rows (the lag was a count(*) over all of them).
func TestStatusReadsTheLagWithoutScanningIt(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		SELECT 'test', 's' || g, 1, gen_random_uuid(), 'T', 1, '{}' FROM generate_series(1, 200000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO consumer_checkpoints (name, position) VALUES ('plan', 20)`); err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	explain := func(sql string, args ...any) string {
		t.Helper()
		rows, err := conn.Query(ctx, sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(plan, "\n")
	}
	removed := regexp.MustCompile(`Rows Removed by Filter: (\d+)`)
	assertNarrow := func(what, plan string) {
		t.Helper()
		if strings.Contains(plan, "Seq Scan on events") {
			t.Fatalf("%s scans the log:\n%s", what, plan)
		}
		for _, m := range removed.FindAllStringSubmatch(plan, -1) {
			if n, _ := strconv.Atoi(m[1]); n > 1000 {
				t.Fatalf("%s filters %d rows:\n%s", what, n, plan)
			}
		}
	}
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	assertNarrow("the status", explain(`EXPLAIN ANALYZE `+subscription.StatusSQL))
	s, err := subscription.Statuses(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || s[0].LagEvents != 200000-20 || s[0].LagSeconds <= 0 {
		t.Fatalf("status %+v, want a lag of %d events", s, 200000-20)
	}
}
