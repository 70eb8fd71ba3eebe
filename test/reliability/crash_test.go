package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/test/pgtest"
)

// TestReplicaCrash kills a replica with SIGKILL in the middle of load, while the others
// keep serving, and starts it again on the same address. Commands acknowledged before
// the kill must be in the log, the survivors must answer throughout, the restarted
// process must serve, and nothing half-written may remain.
func TestReplicaCrash(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	svcs := startServices(t, 3, dbURL, nil)
	cfg := loadConfig{
		orders:   5,
		clients:  pick(16, 32),
		requests: 1 << 30, // until the kill cycles are done
		duration: pick(30*time.Second, 5*time.Minute),
		pConfirm: 0.01,
		pCancel:  0.005,
		pIfMatch: 0.05,
		pIdem:    0.2,
		renew:    true,
		pace:     pick(10*time.Millisecond, 2*time.Millisecond),
	}
	l := newLoad(t, svcs, cfg)
	l.placeOrders(newRand(t.Name()))

	ctx, stopLoad := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		l.run(ctx, "crash")
	}()
	defer func() { stopLoad(); <-loaded }()

	rng := newRand(t.Name() + "/faults")
	cycles := pick(1, 8)
	for i := 0; i < cycles; i++ {
		time.Sleep(pick(500*time.Millisecond, 3*time.Second+time.Duration(rng.IntN(4000))*time.Millisecond))
		victim := rng.IntN(len(svcs))
		killedAt := time.Now()
		svcs[victim].kill(t)
		checkAckedBefore(t, dbURL, l, killedAt)
		time.Sleep(pick(500*time.Millisecond, time.Duration(500+rng.IntN(2500))*time.Millisecond))
		restartAt := time.Now()
		svcs[victim].restart(t)
		checkSurvivors(t, l, victim, killedAt, restartAt)
		t.Logf("cycle %d: killed %s, restarted after %v", i+1, svcs[victim].name, restartAt.Sub(killedAt).Round(time.Millisecond))
	}
	time.Sleep(pick(200*time.Millisecond, 2*time.Second))
	stopLoad()
	<-loaded
	t.Logf("%s", l.summary())

	// Every replica, restarted or not, takes commands.
	rng2 := newRand(t.Name() + "/after")
	for i := range svcs {
		c := l.exec(context.Background(), rng2, i, kindPlace, uuid.New(), 0)
		expect(t, c.Outcome == acked, "after the crashes, %s: %s", svcs[i].name, c)
	}
	checkAll(t, dbURL, svcs, l)
}

// checkAckedBefore checks, right after a kill, that every command acknowledged before
// it is in the log.
func checkAckedBefore(t *testing.T, dbURL string, l *load, before time.Time) {
	t.Helper()
	var corrs []string
	for _, c := range l.ledger.all() {
		if c.Outcome == acked && !c.Replayed && c.Start.Add(c.Took).Before(before) && (c.Kind == kindAdd || c.Kind == kindPlace) {
			corrs = append(corrs, c.Corr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var found int
	if err := conn.QueryRow(ctx, `SELECT count(DISTINCT correlation_id) FROM events e
		JOIN order_overview o ON o.id::text = e.stream_id AND o.version >= e.stream_version
		WHERE correlation_id = ANY($1)`, corrs).Scan(&found); err != nil {
		t.Fatalf("count acknowledged events: %v", err)
	}
	expectData(t, found == len(corrs), "right after the kill: %d of %d commands acknowledged before it are in the log and the read model", found, len(corrs))
}

// checkSurvivors: while one replica was down, the others answered every command.
func checkSurvivors(t *testing.T, l *load, victim int, from, to time.Time) {
	t.Helper()
	served, lost := 0, 0
	for _, c := range l.ledger.all() {
		if c.Replica == victim || c.Start.Before(from) || c.Start.After(to) {
			continue
		}
		if c.Outcome == unknown {
			lost++
			expect(t, false, "while replica %d was down, a survivor did not answer: %s", victim, c)
		} else {
			served++
		}
	}
	expect(t, served > 0, "while replica %d was down, the others answered no command (%d lost)", victim, lost)
}
