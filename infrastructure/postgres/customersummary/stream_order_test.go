package customersummary_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// Per-stream order under the conditions that break it (issue 18): three replicas, each
// with its own pool, state cache and consumer runtime, take many writers on four hot
// orders. Conflicts send commands to lock-first retries, idempotency keys are claimed
// (and replayed) before the stream is read, and If-Match commands fail or pass; a
// replica's runtime stops halfway, so the consumers move to another. Every transaction
// that takes its id before it holds the stream could once deliver a later version
// before an earlier one. Afterwards each consumer, a projection and a reactor that
// record what they were given and customer_summary, has seen every order's versions
// exactly 1..n in that order, and customer_summary equals the fold of the log.
func TestHotStreamsReachEveryConsumerInVersionOrder(t *testing.T) {
	first := pgtest.NewPool(t, pgtest.MaxConns(12))
	ctx := appkit.AsSystem(context.Background())
	codec := eventcodec.NewOrderRegistry()
	var reactor recordedReactor
	type replica struct {
		app  application.App
		stop func()
	}
	var replicas []*replica
	for i := range 3 {
		pool := first
		if i > 0 {
			var err error
			if pool, err = pgxpool.NewWithConfig(ctx, first.Config()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
		}
		rt := subscription.New(pool.Config().ConnConfig, subscription.Options{
			BatchSize: 20, PollInterval: 20 * time.Millisecond, LockRetry: 50 * time.Millisecond, Owner: fmt.Sprint("replica-", i),
		}, customersummary.Consumer(codec), recordingProjection("recorded_projection"), reactor.consumer("recorded_reactor"))
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); rt.Run(rctx) }()
		stop := sync.OnceFunc(func() { cancel(); <-done })
		t.Cleanup(stop)
		replicas = append(replicas, &replica{
			app:  testsupport.NewApp(t, pool),
			stop: stop,
		})
	}
	orders := make([]uuid.UUID, 4)
	for i := range orders {
		orders[i] = uuid.New()
		if _, err := replicas[i%3].app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: orders[i], CustomerID: "hot", Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	until := time.Now().Add(3 * time.Second)
	for w := range 16 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 18)) //nolint:gosec // test data
			for i := 0; time.Now().Before(until); i++ {
				app := replicas[rnd.IntN(3)].app
				cmd := application.AddOrderLine{OrderID: orders[rnd.IntN(len(orders))], SKU: "sku", Quantity: 1 + rnd.IntN(3), UnitPriceCents: 100}
				kind := "plain"
				switch rnd.IntN(5) {
				case 0: // a key claimed before the stream is read; every other one repeats the last
					kind = "keyed"
					key := fmt.Sprintf("w%d-%d", w, i-i%2)
					cmd.Options.Idempotency = &appkit.Idempotency{Key: key, Fingerprint: key}
					cmd.Quantity, cmd.OrderID = 1, orders[(w+i-i%2)%len(orders)]
				case 1: // If-Match on the version just read
					kind = "if-match"
					o, err := app.Orders.Get(ctx, cmd.OrderID)
					if err != nil {
						t.Error(err)
						return
					}
					cmd.Options.ExpectedVersions = []int64{o.Version}
				}
				_, err := app.Orders.AddOrderLine(ctx, cmd)
				var conflict *appkit.VersionConflictError
				switch {
				case errors.As(err, &conflict) && kind == "if-match":
					kind = "if-match-failed"
				case err != nil:
					t.Errorf("%s add line: %v", kind, err)
					return
				}
				mu.Lock()
				counts[kind]++
				mu.Unlock()
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	replicas[0].stop() // its consumers move to another replica mid-load
	wg.Wait()
	t.Logf("commands: %v", counts)
	for _, kind := range []string{"plain", "keyed", "if-match", "if-match-failed"} {
		if counts[kind] == 0 {
			t.Fatalf("no %s command ran: %v", kind, counts)
		}
	}

	var last int64
	if err := first.QueryRow(ctx, `SELECT max(global_position) FROM events`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{customersummary.ConsumerName(customersummary.Version), "recorded_projection", "recorded_reactor"} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := consumerStatus(t, first, name)
			if s.Error != "" {
				t.Fatalf("%s: %s", name, s.Error)
			}
			if s.Position >= last {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not catch up: %+v, log at %d", name, s, last)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	heads := map[string]int64{}
	for _, id := range orders {
		o, err := replicas[1].app.Orders.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		heads[id.String()] = o.Version
	}
	projected := map[string][]int64{}
	rows, err := first.Query(ctx, `SELECT stream_id, version FROM recorded ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		projected[id] = append(projected[id], v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	reactor.mu.Lock()
	defer reactor.mu.Unlock()
	for id, n := range heads {
		want := make([]int64, n)
		for i := range want {
			want[i] = int64(i + 1)
		}
		for consumer, got := range map[string][]int64{"recorded_projection": projected[id], "recorded_reactor": reactor.seen[id]} {
			if !slices.Equal(got, want) {
				t.Errorf("%s got order %s's versions in this order, want 1..%d once each:\n%v", consumer, id, n, outOfPlace(got))
			}
		}
	}
	var diffs []string
	if _, err := customersummary.Verify(ctx, first, codec, func(d string) { diffs = append(diffs, d) }); err != nil || len(diffs) > 0 {
		t.Fatalf("customer_summary: %v; %d differences from the log: %v", err, len(diffs), diffs)
	}
}

// outOfPlace lists, for a failure message, where a sequence breaks from 1, 2, 3, ...
func outOfPlace(got []int64) []string {
	var out []string
	for i, v := range got {
		if v != int64(i+1) && len(out) < 10 {
			out = append(out, fmt.Sprintf("#%d is version %d", i+1, v))
		}
	}
	return append(out, fmt.Sprintf("(%d in all)", len(got)))
}

// recordingProjection records every order event it is given, in the order given.
func recordingProjection(name string) subscription.Consumer {
	return subscription.Consumer{
		Name: name,
		Setup: func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS recorded (seq bigint GENERATED ALWAYS AS IDENTITY, stream_id text, version bigint)`)
			return err
		},
		Project: func(e eventstore.RecordedEvent, q subscription.Queue) error {
			if e.Stream.Type == orderstore.StreamType {
				q.Queue(`INSERT INTO recorded (stream_id, version) VALUES ($1, $2)`, e.Stream.ID, e.Version)
			}
			return nil
		},
	}
}

// recordedReactor records every order event a reactor is given, in the order given.
type recordedReactor struct {
	mu   sync.Mutex
	seen map[string][]int64
}

func (r *recordedReactor) consumer(name string) subscription.Consumer {
	return subscription.Consumer{Name: name, React: func(_ context.Context, e eventstore.RecordedEvent) error {
		if e.Stream.Type != orderstore.StreamType {
			return nil
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.seen == nil {
			r.seen = map[string][]int64{}
		}
		r.seen[e.Stream.ID] = append(r.seen[e.Stream.ID], e.Version)
		return nil
	}}
}

func consumerStatus(t *testing.T, pool *pgxpool.Pool, name string) subscription.Status {
	t.Helper()
	all, err := subscription.Statuses(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	return subscription.Status{Name: name}
}
