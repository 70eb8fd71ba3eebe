package reliability

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

var consumerNames = []string{
	customersummary.ConsumerName(customersummary.Version),
	"fulfilment", // example: shipment
}

// TestConsumerOwnerKilled runs two replicas (three in make soak) with the consumers on
// while clients place, confirm and cancel orders through all, kills the replica that
// owns the first consumer with SIGKILL (in the middle of whatever batch it is in), and
// checks that survivors hold every consumer within 10 s, and that in the end
// customer_summary equals the fold of the log.
// And every confirmed order has its one shipment (checkFulfilment). // example: shipment
func TestConsumerOwnerKilled(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	svcs := startServices(t, pick(2, 3), dbURL, map[string]string{"RUN_CONSUMERS": "true"})
	pool := consumerPool(t, dbURL)
	w := startWriters(t, svcs, pick(4, 8))
	defer w.stop()

	for cycle := range pick(1, 5) {
		time.Sleep(pick(1500*time.Millisecond, 4*time.Second))
		owner := waitOwner(t, pool, svcs, -1, 15*time.Second)
		killedAt := time.Now()
		svcs[owner].kill(t)
		next := waitOwner(t, pool, svcs, owner, 10*time.Second)
		t.Logf("cycle %d: killed %s, %s (and any other survivor) took over the consumers after %v", cycle+1, svcs[owner].name, svcs[next].name,
			time.Since(killedAt).Round(time.Millisecond))
		svcs[owner].restart(t)
	}
	time.Sleep(pick(500*time.Millisecond, 2*time.Second))
	w.stop()
	checkConsumers(t, dbURL, pool, w)
}

// TestConsumersThroughDatabaseOutage stops PostgreSQL while the consumers work; they
// resume by themselves, and nothing is lost or done twice.
func TestConsumersThroughDatabaseOutage(t *testing.T) {
	pg := startLocalPG(t)
	svcs := startServices(t, 1, pg.URL, map[string]string{"RUN_CONSUMERS": "true", "REQUEST_TIMEOUT": "1s"})
	w := startWriters(t, svcs, 4)
	defer w.stop()
	for range pick(1, 3) {
		time.Sleep(pick(1500*time.Millisecond, 3*time.Second))
		pg.stop("fast")
		time.Sleep(pick(1500*time.Millisecond, 3*time.Second))
		pg.start()
		waitRecovered(t, svcs, 30*time.Second)
	}
	time.Sleep(time.Second)
	w.stop()
	checkConsumers(t, pg.URL, consumerPool(t, pg.URL), w)
}

func consumerPool(t *testing.T, dbURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// waitOwner waits until every consumer is held by a live replica other than not, and
// returns the replica that holds the first one. Each consumer has its own lock, so
// after a takeover two survivors may hold one each.
func waitOwner(t *testing.T, pool *pgxpool.Pool, svcs []*service, not int, within time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if owners, ok := currentOwners(pool, svcs); ok && !slices.Contains(owners, not) {
			return owners[0]
		}
		if time.Now().After(deadline) {
			all, err := subscription.Statuses(context.Background(), pool)
			var pids []string
			for _, svc := range svcs {
				svc.mu.Lock()
				if svc.alive && svc.cmd != nil {
					pids = append(pids, fmt.Sprintf("%s=%d", svc.name, svc.cmd.Process.Pid))
				}
				svc.mu.Unlock()
			}
			t.Fatalf("the consumers are not all held by live replicas (other than %d) within %v: %+v %v; live: %v", not, within, all, err, pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// currentOwners is, for each consumer, the live replica that holds its lock, if every
// consumer is held by one.
func currentOwners(pool *pgxpool.Pool, svcs []*service) ([]int, bool) {
	// Statuses counts each consumer's lag, which takes seconds when a reactor is tens
	// of thousands of events behind (make soak runs three replicas under -race).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all, err := subscription.Statuses(ctx, pool)
	if err != nil || len(all) < len(consumerNames) {
		return nil, false
	}
	var owners []int
	for _, s := range all {
		if !s.Held {
			return nil, false
		}
		parts := strings.Split(s.Owner, "-")
		pid, _ := strconv.Atoi(parts[max(len(parts)-2, 0)])
		i := -1
		for j, svc := range svcs {
			svc.mu.Lock()
			if svc.alive && svc.cmd != nil && svc.cmd.Process.Pid == pid {
				i = j
			}
			svc.mu.Unlock()
		}
		if i < 0 {
			return nil, false
		}
		owners = append(owners, i)
	}
	return owners, true
}

// writers place, confirm and sometimes cancel orders through every replica.
type writers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	acked  atomic.Int64
	svcs   []*service
}

func startWriters(t *testing.T, svcs []*service, n int) *writers {
	ctx, cancel := context.WithCancel(context.Background())
	w := &writers{cancel: cancel, svcs: svcs}
	for c := range n {
		w.wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				svc := svcs[(c+i)%len(svcs)]
				id := uuid.New()
				base := svc.URL
				r := send(ctx, "POST", base+"/orders", jsonBody(map[string]any{"id": id, "customer_id": fmt.Sprintf("cust-%d", i%7), "currency": []string{"EUR", "USD"}[i%2]}))
				if r.Status != 201 {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				send(ctx, "POST", base+"/orders/"+id.String()+"/lines", jsonBody(map[string]any{"sku": "s", "quantity": 1 + i%3, "unit_price_cents": 250}))
				send(ctx, "POST", base+"/orders/"+id.String()+"/confirm", nil)
				if i%5 == 0 {
					send(ctx, "POST", base+"/orders/"+id.String()+"/cancel", jsonBody(map[string]any{"reason": "test"}))
				}
				w.acked.Add(1)
			}
		})
	}
	return w
}

func (w *writers) stop() { w.once.Do(func() { w.cancel(); w.wg.Wait() }) }

// checkConsumers waits for every consumer to reach the end of the log and checks what
// they made of it.
func checkConsumers(t *testing.T, dbURL string, pool *pgxpool.Pool, w *writers) {
	t.Helper()
	ctx := context.Background()
	var last int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(global_position), 0) FROM events`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		all, err := subscription.Statuses(ctx, pool)
		done := err == nil && len(all) >= len(consumerNames)
		for _, s := range all {
			if !s.Healthy() {
				t.Fatalf("consumer %s unhealthy: %+v", s.Name, s)
			}
			done = done && s.Position >= last
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumers not at the end of the log (%d) within 60s: %+v %v", last, all, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var diffs []string
	n, err := customersummary.Verify(ctx, pool, eventcodec.NewOrderRegistry(), func(d string) { diffs = append(diffs, d) })
	if err != nil || len(diffs) > 0 {
		for _, d := range diffs {
			id := strings.Fields(d)[2]
			id = strings.TrimSuffix(id, ":")
			rows, _ := pool.Query(ctx, `SELECT global_position, transaction_id::text, event_type, recorded_at FROM events WHERE stream_id = $1 ORDER BY global_position`, id)
			for rows.Next() {
				var pos int64
				var xid, typ string
				var at time.Time
				_ = rows.Scan(&pos, &xid, &typ, &at)
				t.Logf("  %s: position %d xid %s %s at %s", id, pos, xid, typ, at.Format(time.RFC3339Nano))
			}
			rows.Close()
			var lv int64
			_ = pool.QueryRow(ctx, `SELECT last_version FROM `+customersummary.Table(customersummary.Version)+` WHERE order_id = $1`, id).Scan(&lv)
			t.Logf("  row last_version %d", lv)
		}
		for _, svc := range w.svcs {
			for _, l := range strings.Split(svc.out.String(), "\n") {
				if strings.Contains(l, "consumer") || strings.Contains(l, "killed") {
					t.Logf("%s: %s", svc.name, l)
				}
			}
		}
		t.Fatalf("customer_summary differs from the log (%d orders): %v %v", n, err, diffs)
	}
	checkFulfilment(t, pool) // example: shipment
	t.Logf("%d order flows acknowledged, log at %d; customer_summary agrees with it", w.acked.Load(), last)
	runVerify(t, dbURL) // every phase ends with `orders verify`
}
