//go:build unix

package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TestDatabaseOutage takes PostgreSQL away under load, twice over: stopped (pg_ctl
// stop, fast or immediate) and frozen (SIGSTOP: connections hang instead of being
// refused). Meanwhile every request must be answered within REQUEST_TIMEOUT + 1s,
// never with a 500; commands and /readyz answer 503 problem+json with Retry-After,
// /healthz 200. When PostgreSQL is back the services recover by themselves: /readyz
// returns to 200, commands succeed, and the log and read model are consistent.
func TestDatabaseOutage(t *testing.T) {
	const requestTimeout = time.Second
	bound := requestTimeout + time.Second
	pg := startLocalPG(t)
	svcs := startServices(t, 2, pg.URL, map[string]string{"REQUEST_TIMEOUT": requestTimeout.String()})
	l := newLoad(t, svcs, loadConfig{
		orders:   5,
		clients:  pick(8, 16),
		requests: 1 << 30, // until the faults are done
		duration: pick(60*time.Second, 8*time.Minute),
		pConfirm: 0.01,
		pCancel:  0.005,
		pIfMatch: 0.05,
		pIdem:    0.2,
		renew:    true,
		pace:     pick(20*time.Millisecond, 5*time.Millisecond),
		maxTook:  bound,
	})
	l.placeOrders(newRand(t.Name()))

	ctx, stopLoad := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		l.run(ctx, "outage")
	}()
	defer func() { stopLoad(); <-loaded }()

	type fault struct {
		name   string
		begin  func()
		end    func()
		length time.Duration
	}
	stopFast := fault{"stopped (fast)", func() { pg.stop("fast") }, pg.start, pick(1200*time.Millisecond, 3*time.Second)}
	freeze := fault{"frozen", pg.freeze, pg.thaw, pick(1800*time.Millisecond, 3*time.Second)}
	faults := []fault{stopFast, freeze}
	if soak {
		stopImmediate := fault{"stopped (immediate)", func() { pg.stop("immediate") }, pg.start, 4 * time.Second}
		longFreeze := freeze
		longFreeze.length = 6 * time.Second
		faults = []fault{stopFast, freeze, stopImmediate, longFreeze, stopFast, stopImmediate, freeze, stopImmediate}
	}
	rng := newRand(t.Name() + "/faults")
	for i, f := range faults {
		time.Sleep(pick(400*time.Millisecond, time.Duration(2000+rng.IntN(3000))*time.Millisecond))
		began := time.Now()
		f.begin()
		probeOutage(t, svcs, bound, f.name, f.length)
		f.end()
		recovered := waitRecovered(t, svcs, 30*time.Second)
		t.Logf("fault %d: PostgreSQL %s for %v; services ready again %v after it came back",
			i+1, f.name, time.Since(began).Round(time.Millisecond)-recovered, recovered.Round(time.Millisecond))
		// Commands succeed again, through every replica, without a restart.
		for r := range svcs {
			c := l.exec(context.Background(), rng, r, kindPlace, uuid.New(), 0)
			expect(t, c.Outcome == acked, "after PostgreSQL %s came back, %s: %s", f.name, svcs[r].name, c)
		}
	}
	time.Sleep(pick(300*time.Millisecond, 2*time.Second))
	stopLoad()
	<-loaded
	t.Logf("%s", l.summary())
	checkAll(t, pg.URL, svcs, l)

	t.Run("503 for a command that was recorded", func(t *testing.T) { testAnswerLostAfterCommit(t, pg, svcs[0]) })
}

// testAnswerLostAfterCommit makes a COMMIT outlast REQUEST_TIMEOUT while new
// connections to PostgreSQL hang (the postmaster is frozen; the session doing the
// COMMIT goes on), as when the network fails just after COMMIT was sent. A deferred
// constraint trigger, which runs inside COMMIT, sleeps 1.5s for lines whose sku starts
// with "slow-commit-". The client gets 503; the cancel request the driver sends on the
// deadline cannot get through, and the COMMIT completes.
//
// The 503 says "nothing was changed. Retry after a moment" (code unavailable), and
// A COMMIT that goes unanswered is answered 503 outcome_unknown (not "nothing was
// changed"); with the same Idempotency-Key, the retry gets the stored answer of the
// command that did commit.
func testAnswerLostAfterCommit(t *testing.T, pg *localPG, svc *service) {
	conn := connect(t, pg.URL) // opened before the postmaster freezes
	adminExec(t, pg.URL, `
		CREATE FUNCTION reliability_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.sku LIKE 'slow-commit-%' THEN PERFORM pg_sleep(1.5); END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER reliability_slow_commit AFTER INSERT ON order_overview_lines
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION reliability_slow_commit();`)
	dropTrigger := func() {
		adminExec(t, pg.URL, `DROP TRIGGER IF EXISTS reliability_slow_commit ON order_overview_lines`)
	}
	defer dropTrigger()
	for _, withKey := range []bool{false, true} {
		id := placeOrder(t, svc, "slow-commit")
		sku, headers := "slow-commit-plain", []string{}
		where := "add-line whose COMMIT completes after REQUEST_TIMEOUT"
		if withKey {
			sku, headers = "slow-commit-keyed", []string{"Idempotency-Key", "slow-commit-key"}
			where += " (with an Idempotency-Key)"
		}
		adminExec(t, pg.URL, `ALTER TABLE order_overview_lines ENABLE TRIGGER reliability_slow_commit`)
		body := jsonBody(map[string]any{"sku": sku, "quantity": 1, "unit_price_cents": 100})
		pg.freezePostmaster()
		first := send(t.Context(), http.MethodPost, svc.URL+"/orders/"+id+"/lines", body, headers...)
		waitIdle(t, conn, 5*time.Second)
		pg.thaw()
		code := checkAnswer(t, where, first)
		recorded := countEvents(t, conn, `payload->>'sku' = $1`, sku)
		if !withKey && first.Status == http.StatusServiceUnavailable {
			var p struct{ Detail string }
			_ = json.Unmarshal(first.Body, &p)
			// A command whose COMMIT went unanswered may have been recorded; the answer
			// must say so (outcome_unknown) rather than "nothing was changed".
			expect(t, recorded == 0 || code == "outcome_unknown", "%s: answered 503 %s %q, but the line is in the log; the answer must say the outcome is unknown", where, code, p.Detail)
		} else if !withKey {
			expect(t, first.Status == http.StatusOK && recorded == 1, "%s: %s, %d events with its sku", where, first, recorded)
		}

		// The client retries after Retry-After, as the 503 asks.
		adminExec(t, pg.URL, `ALTER TABLE order_overview_lines DISABLE TRIGGER reliability_slow_commit`)
		if err := waitReady(svc.URL, 30*time.Second, nil); err != nil {
			t.Fatal(err)
		}
		again := mustSend(t, http.MethodPost, svc.URL+"/orders/"+id+"/lines", body, headers...)
		n := countEvents(t, conn, `payload->>'sku' = $1`, sku)
		if withKey {
			expect(t, again.Status == http.StatusOK && n == 1, "%s: the retry with the same key: %s (replayed %q), %d lines with the sku; want 200 and 1 line",
				where, again, again.Header.Get("Idempotency-Replayed"), n)
		} else if first.Status == http.StatusOK {
			// Without a key a blind retry is a second command; after a definite 200
			// there is nothing to retry, and a 503 outcome_unknown told the client to
			// read the order first.
			expect(t, n == 2, "%s: the first answer %d, the retry %d: the order has %d lines with sku %s, want 2", where, first.Status, again.Status, n, sku)
		}
	}
}

// waitIdle waits until no other session of the database is running a statement.
func waitIdle(t *testing.T, conn *pgx.Conn, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		var busy bool
		if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active')`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if !busy {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probeOutage keeps asking every replica for readiness, liveness and an order while
// PostgreSQL is away, for about d: each answer within bound, readiness and the order
// 503 problem+json with Retry-After, liveness 200.
func probeOutage(t *testing.T, svcs []*service, bound time.Duration, what string, d time.Duration) {
	t.Helper()
	// Let in-flight work notice first; from then on nothing may succeed.
	time.Sleep(min(d/3, bound+200*time.Millisecond))
	until := time.Now().Add(d - min(d/3, bound+200*time.Millisecond))
	var wg sync.WaitGroup
	for _, s := range svcs {
		wg.Add(1)
		go func(s *service) {
			defer wg.Done()
			ctx := context.Background()
			for n := 0; n == 0 || time.Now().Before(until); n++ {
				for _, p := range []struct{ path, method string }{
					{"/readyz", http.MethodGet},
					{"/orders/" + uuid.NewString(), http.MethodGet},
					{"/orders", http.MethodPost},
					{"/healthz", http.MethodGet},
				} {
					var body []byte
					if p.method == http.MethodPost {
						body = []byte(`{"customer_id":"outage","currency":"EUR"}`)
					}
					r := send(ctx, p.method, s.URL+p.path, body)
					where := fmt.Sprintf("%s %s on %s while PostgreSQL is %s", p.method, p.path, s.name, what)
					if !expect(t, r.Err == nil, "%s: %v", where, r.Err) {
						continue
					}
					expect(t, r.Took < bound, "%s: answered after %v, want less than %v", where, r.Took, bound)
					code := checkAnswer(t, where, r)
					if p.path == "/healthz" {
						expect(t, r.Status == http.StatusOK, "%s: %s", where, r)
						continue
					}
					expect(t, r.Status == http.StatusServiceUnavailable, "%s: %s, want 503", where, r)
					if p.path != "/readyz" {
						expect(t, code == "unavailable", "%s: code %q, want unavailable", where, code)
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
		}(s)
	}
	wg.Wait()
}

// waitRecovered polls /readyz on every replica until all say 200 and returns how long
// that took.
func waitRecovered(t *testing.T, svcs []*service, within time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	for _, s := range svcs {
		if err := waitReady(s.URL, within-time.Since(begin), nil); err != nil {
			expect(t, false, "%s did not recover by itself: %v", s.name, err)
		}
	}
	return time.Since(begin)
}
