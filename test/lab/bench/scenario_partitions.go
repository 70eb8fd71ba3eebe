package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/feed"
)

// partitionResults are the catch-up of the partitioned consumers (issue 21): each of
// partitionConsumers over the same backlog, with 1, 2 and 4 partitions
// on 2 and 3 instances (`orders serve` processes), against the 1-partition run on as
// many instances.
type partitionResults struct {
	Orders  int            `json:"orders"`
	Backlog int            `json:"backlog_events"`
	Load    string         `json:"machine_load"` // /proc/loadavg before the first run
	Runs    []partitionRun `json:"runs"`         // the best run of each configuration, with ratios
	All     []partitionRun `json:"all_runs"`     // every run, in the order run
}

type partitionRun struct {
	Round      int     `json:"round"`
	Consumer   string  `json:"consumer"`
	Instances  int     `json:"instances"`
	Partitions int     `json:"partitions"`
	Seconds    float64 `json:"seconds"`
	EPS        float64 `json:"events_per_second"`
	// CPU of the instances (user + system, all processes together) and of the whole
	// PostgreSQL server, microseconds per event of the backlog.
	ServiceCPUus  float64 `json:"service_cpu_us_per_event"`
	PostgresCPUus float64 `json:"postgres_cpu_us_per_event,omitempty"`
	// Against the run with 1 partition on as many instances.
	Speedup  float64 `json:"speedup_vs_1_partition"`
	CPURatio float64 `json:"service_cpu_vs_1_partition"`
}

// partitionConsumers are the consumers measured, by their checkpoint names.
var partitionConsumers = []string{
	"fulfilment", // example: shipment
	customersummary.ConsumerName(customersummary.Version),
}

// runPartitions fills a database once with a backlog of confirmed orders (placed,
// three lines, confirmed: five events each) and uses it as the template of one
// database per run. In each run the instances start with every consumer's partitions
// stopped at position 0 (parked: a stopped partition reads nothing); once every
// instance is up and the partitions are spread, the measured consumer is released
// (stopped = false and a NOTIFY) and timed until every partition's checkpoint has
// passed the backlog. customer_summary projects every event.
// fulfilment runs one CreateShipment per confirmed order. // example: shipment
func runPartitions(ctx context.Context, env *environment, rep *report) error {
	res := &partitionResults{Orders: 10_000}
	instances, partitions := []int{2, 3}, []int{1, 2, 4}
	if env.cfg.smoke {
		res.Orders = 40
		instances, partitions = []int{2, 3}, []int{1, 4}
	}
	rep.Partitions = res
	tmpl := "bench_partitions_backlog"
	pool, drop, err := scratchDatabase(ctx, env, tmpl)
	if err != nil {
		return err
	}
	defer drop()
	begin := time.Now()
	if err := fillConfirmed(ctx, pool, res.Orders); err != nil {
		return fmt.Errorf("backlog: %w", err)
	}
	var last int64
	if err := pool.QueryRow(ctx, `SELECT count(*), max(global_position) FROM events`).Scan(&res.Backlog, &last); err != nil {
		return err
	}
	pool.Close() // a template has no connections
	logf("partitions: backlog of %d events (%d confirmed orders) written in %v", res.Backlog, res.Orders, time.Since(begin).Round(100*time.Millisecond))
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.Load = strings.TrimSpace(string(b))
	}

	// Rounds alternate the order of the partition counts (1, 2, 4, then 4, 2, 1): on a
	// shared machine the load changes by the minute, and each configuration is scored
	// by the better of its runs (the shorter one; its CPU goes with it).
	rounds := 2
	if env.cfg.smoke {
		rounds = 1
	}
	for _, k := range instances {
		for _, name := range partitionConsumers {
			best := map[int]partitionRun{}
			for round := range rounds {
				order := slices.Clone(partitions)
				if round%2 == 1 {
					slices.Reverse(order)
				}
				for _, n := range order {
					run, err := partitionCatchUp(ctx, env, tmpl, name, k, n, res.Backlog, last)
					if err != nil {
						return fmt.Errorf("%s, %d partitions on %d instances: %w", name, n, k, err)
					}
					run.Round = round + 1
					res.All = append(res.All, run)
					logf("partitions: round %d: %-20s %d instances, %d partitions: %6.1f s, %7.0f events/s, service CPU %.1f µs/event, PostgreSQL %.1f µs/event",
						round+1, name, k, n, run.Seconds, run.EPS, run.ServiceCPUus, run.PostgresCPUus)
					if b, ok := best[n]; !ok || run.EPS > b.EPS {
						best[n] = run
					}
				}
			}
			base := best[partitions[0]]
			for _, n := range partitions {
				run := best[n]
				run.Speedup, run.CPURatio = ratio(run.EPS, base.EPS), ratio(run.ServiceCPUus, base.ServiceCPUus)
				res.Runs = append(res.Runs, run)
				rep.check("partitions", true, fmt.Sprintf("%s caught up with %d partitions on %d instances", name, n, k))
				logf("partitions: best: %-20s %d instances, %d partitions: %6.1f s, %7.0f events/s (%.2fx), service CPU %.1f µs/event (%.2fx), PostgreSQL %.1f µs/event",
					name, k, n, run.Seconds, run.EPS, run.Speedup, run.ServiceCPUus, run.CPURatio, run.PostgresCPUus)
			}
		}
	}
	if !env.cfg.smoke {
		for _, r := range res.Runs {
			if r.Partitions == 4 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("partitions: %s catch-up with 4 partitions on %d instances %.2fx the 1-partition run (goal >= 2.5x)", r.Consumer, r.Instances, r.Speedup))
			}
		}
	}
	return nil
}

// partitionCatchUp is one run: a copy of the backlog, k instances with n partitions,
// name released and timed until caught up with last.
func partitionCatchUp(ctx context.Context, env *environment, tmpl, name string, k, n, backlog int, last int64) (partitionRun, error) {
	run := partitionRun{Consumer: name, Instances: k, Partitions: n}
	db := fmt.Sprintf("bench_partitions_%s_%d_%d", strings.ReplaceAll(name, "_", ""), k, n)
	ident := pgx.Identifier{db}.Sanitize()
	_, _ = env.pool.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	if _, err := env.pool.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize()); err != nil {
		return run, err
	}
	defer func() {
		_, _ = env.pool.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	}()
	cfg := env.pool.Config().Copy()
	cfg.ConnConfig.Database = db
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return run, err
	}
	defer pool.Close()
	// Both consumers' partitions, parked.
	for _, c := range partitionConsumers {
		if _, err := pool.Exec(ctx, `INSERT INTO consumer_checkpoints (name, partitions, partition, position, stopped)
			SELECT $1, $2, p, 0, true FROM generate_series(0, $2 - 1) p`, c, n); err != nil {
			return run, err
		}
	}
	var svcs []*service
	defer func() {
		for _, s := range svcs {
			if err := s.stop(); err != nil {
				logf("partitions: stopping an instance: %v", err)
			}
		}
	}()
	dbURL, err := withDatabaseName(env.db.URL, db)
	if err != nil {
		return run, err
	}
	for range k {
		s, err := startServiceWith(ctx, env.serviceBin, dbURL, 8, map[string]string{"RUN_CONSUMERS": "true", "CONSUMER_PARTITIONS": strconv.Itoa(n)})
		if err != nil {
			return run, err
		}
		svcs = append(svcs, s)
	}
	// Every partition of both held, by min(k, n) instances.
	if err := waitHeld(ctx, pool, n, min(k, n), 30*time.Second); err != nil {
		return run, err
	}
	cpu0, pg0, pgKnown := instancesCPU(svcs), 0.0, false
	if env.postmaster > 0 {
		pg0, pgKnown = postgresCPU(env.postmaster)
	}
	begin := time.Now()
	if _, err := pool.Exec(ctx, `UPDATE consumer_checkpoints SET stopped = false WHERE name = $1`, name); err != nil {
		return run, err
	}
	if _, err := pool.Exec(ctx, `SELECT pg_notify($1, '')`, feed.Channel); err != nil {
		return run, err
	}
	for {
		var low int64
		var unhealthy int
		if err := pool.QueryRow(ctx, `SELECT min(position), count(*) FILTER (WHERE error IS NOT NULL OR stopped)
			FROM consumer_checkpoints WHERE name = $1`, name).Scan(&low, &unhealthy); err != nil {
			return run, err
		}
		if unhealthy > 0 {
			return run, fmt.Errorf("%d partitions failing or stopped", unhealthy)
		}
		if low >= last {
			break
		}
		if time.Since(begin) > 15*time.Minute {
			return run, fmt.Errorf("not caught up within 15 minutes: at %d of %d", low, last)
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	elapsed := time.Since(begin)
	cpu := instancesCPU(svcs) - cpu0
	run.Seconds = elapsed.Seconds()
	run.EPS = float64(backlog) / elapsed.Seconds()
	run.ServiceCPUus = cpu / float64(backlog) * 1e6
	if pgKnown {
		if pg1, ok := postgresCPU(env.postmaster); ok {
			run.PostgresCPUus = (pg1 - pg0) / float64(backlog) * 1e6
		}
	}
	// example: shipment begin
	if name == "fulfilment" {
		var shipped int
		if err := pool.QueryRow(ctx, `SELECT count(DISTINCT stream_id) FROM events WHERE stream_type = 'shipment'`).Scan(&shipped); err != nil {
			return run, err
		}
		var confirmed int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_type = 'OrderConfirmed'`).Scan(&confirmed); err != nil {
			return run, err
		}
		if shipped != confirmed {
			return run, fmt.Errorf("%d shipments for %d confirmed orders", shipped, confirmed)
		}
	}
	// example: shipment end
	return run, nil
}

// waitHeld waits until each consumer's n partitions are all leased, by holders
// distinct instances.
func waitHeld(ctx context.Context, pool *pgxpool.Pool, n, holders int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var held, owners int
		err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE owner IS NOT NULL AND lease_until > now()),
				count(DISTINCT owner) FILTER (WHERE lease_until > now())
			FROM consumer_checkpoints WHERE name = $1`, partitionConsumers[0]).Scan(&held, &owners)
		if err == nil && held == n && owners == holders {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("the partitions are not spread over the instances within %v: %w", within, err)
			}
			return fmt.Errorf("the partitions are not spread over the instances within %v (%d of %d held, by %d)", within, held, n, owners)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func instancesCPU(svcs []*service) float64 {
	sum := 0.0
	for _, s := range svcs {
		v, _ := processCPU(s.pid, false)
		sum += v
	}
	return sum
}

// fillConfirmed writes n confirmed orders (placed, three lines, confirmed), with the
// rows the service would write (events encoded by its codec, heads, read model), a
// chunk of orders per transaction.
func fillConfirmed(ctx context.Context, pool *pgxpool.Pool, n int) error {
	w := newRawWriter(pool)
	for chunk := 0; n > 0; chunk++ {
		k := min(n, bulkChunk)
		at := time.Now().UTC().Truncate(time.Microsecond)
		ids := make([]uuid.UUID, k)
		var streams, types, payloads, metadata, corr []string
		var versions []int64
		var eventIDs []uuid.UUID
		var schemas []int32
		var lineOrders []uuid.UUID
		var lineNos []int64
		var skus []string
		add := func(stream string, v int64, e event) {
			streams, versions, eventIDs = append(streams, stream), append(versions, v), append(eventIDs, uuid.Must(uuid.NewV7()))
			types, schemas = append(types, e.name), append(schemas, int32(e.schemaVersion)) //nolint:gosec // schema versions are small numbers set in code
			payloads, metadata, corr = append(payloads, string(e.payload)), append(metadata, string(e.metadata)), append(corr, e.correlation)
		}
		customer := fmt.Sprintf("partitions-%d", chunk)
		for i := range ids {
			ids[i] = uuid.Must(uuid.NewV7())
			stream := ids[i].String()
			evs := []order.Event{order.OrderPlaced{OrderID: ids[i], CustomerID: customer, Currency: "EUR", PlacedAt: at}}
			for j := range 3 {
				sku := fmt.Sprintf("fixture-%d", j+1)
				evs = append(evs, order.OrderLineAdded{SKU: sku, Quantity: 1, UnitPriceCents: fillPrice, AddedAt: at})
				lineOrders, lineNos, skus = append(lineOrders, ids[i]), append(lineNos, int64(j+2)), append(skus, sku)
			}
			evs = append(evs, order.OrderConfirmed{ConfirmedAt: at})
			for v, ev := range evs {
				e, err := w.encode(ev, "Fill", at)
				if err != nil {
					return err
				}
				add(stream, int64(v+1), e)
			}
		}
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var b pgx.Batch
			b.Queue(bulkEvents, streams, versions, eventIDs, types, schemas, payloads, metadata, corr, at)
			b.Queue(bulkHeads, streamIDs(ids), 5)
			b.Queue(bulkOverview, ids, customer, 3*fillPrice, 3, 5, at)
			b.Queue(`UPDATE order_overview SET status = 'confirmed' WHERE id = ANY($1)`, ids)
			b.Queue(bulkLines, lineOrders, lineNos, skus, fillPrice)
			return tx.SendBatch(ctx, &b).Close()
		})
		if err != nil {
			return err
		}
		n -= k
	}
	// Every copy starts with the log frozen and analysed: no hint bits to set and no
	// autovacuum of it in the middle of a run. Not the empty read-model tables: as
	// after their migration they have no statistics (the planner assumes a few pages).
	// Analysed empty, they make the projection's prepared statements settle on a
	// generic plan that scans the table, which the catch-up then fills: one
	// connection (1 partition) ran at a sixth of the speed, quadratically.
	_, err := pool.Exec(ctx, `VACUUM (FREEZE, ANALYZE) events, aggregate_heads, order_overview, order_overview_lines`)
	return err
}

// withDatabaseName is dbURL (a postgres:// URL) on database name.
func withDatabaseName(dbURL, name string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	if u.Scheme == "" {
		return "", errors.New("need a postgres:// URL")
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}
