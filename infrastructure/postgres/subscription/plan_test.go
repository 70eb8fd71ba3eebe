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

// The consumers' position queries read the events after a cursor along their index,
// however long the log: with the cursor 20 events from the end of 200,000, they look
// at a handful of rows. (PostgreSQL answered the watermark's min() by walking the
// primary key from the first event with the cursor as a filter, and, once heldBack's
// prepared statement went generic, an EXISTS by a sequential scan.)
func TestPositionQueriesReadOnlyWhatFollowsTheCursor(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		SELECT 'test', 's' || g, 1, gen_random_uuid(), 'T', 1, '{}' FROM generate_series(1, 200000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO consumer_checkpoints (name, position, transaction_id)
		SELECT 'plan', max(global_position) - 20, max(transaction_id::text::bigint)::text::xid8 FROM events`); err != nil {
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
	assertNarrow("the watermark", explain(`EXPLAIN ANALYZE SELECT `+subscription.WatermarkSQL+` FROM consumer_checkpoints c WHERE c.name = 'plan'`))
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `PREPARE held AS `+subscription.HeldBackSQL); err != nil {
		t.Fatal(err)
	}
	var xid string
	var pos int64
	if err := conn.QueryRow(ctx, `SELECT transaction_id::text, position FROM consumer_checkpoints WHERE name = 'plan'`).Scan(&xid, &pos); err != nil {
		t.Fatal(err)
	}
	assertNarrow("heldBack (generic plan)", explain(`EXPLAIN ANALYZE EXECUTE held('`+xid+`', `+strconv.FormatInt(pos, 10)+`)`))
}
