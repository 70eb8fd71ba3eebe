package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/example/orders/test/pgtest"
)

// TestReplicasRacing runs several replicas on one database while many clients, spread
// over all of them, add lines to, confirm and cancel the same few orders; some commands
// carry If-Match, some an Idempotency-Key. Every acknowledged command must be in the
// log exactly once, every rejected one absent, and the streams, heads and read model
// consistent. With SOAK=1 the replicas also start together on an empty database and
// race to migrate it (the losers wait for goose's lock, which it polls every 5s: too
// slow for the quick run).
func TestReplicasRacing(t *testing.T) {
	var dbURL string
	if soak {
		dbURL = newEmptyDatabase(t)
	} else {
		dbURL = pgtest.NewDatabase(t)
	}
	replicas := pick(3, 5)
	svcs := startServices(t, replicas, dbURL, nil)
	cfg := loadConfig{
		orders:   5,
		clients:  pick(24, 48),
		requests: pick(480, 40000),
		duration: pick(20*time.Second, 45*time.Second),
		pConfirm: 0.015,
		pCancel:  0.01,
		pIfMatch: 0.1,
		pIdem:    0.1,
		renew:    soak,
	}
	l := newLoad(t, svcs, cfg)
	l.placeOrders(newRand(t.Name()))
	begin := time.Now()
	l.run(context.Background(), "racing")
	t.Logf("%d replicas, %d clients: %s in %v", replicas, cfg.clients, l.summary(), time.Since(begin).Round(time.Millisecond))
	checkAll(t, dbURL, svcs, l)
}
