package reliability

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/api"
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
	eraseAndCheck(t, dbURL, svcs, l)
}

// eraseAndCheck erases the load's customer through one replica; then every replica,
// whatever it has cached, shows every order's contact erased, in GET and in a command's
// answer, and verify stays clean.
func eraseAndCheck(t *testing.T, dbURL string, svcs []*service, l *load) {
	t.Helper()
	r := mustSendChecked(t, http.MethodDelete, svcs[0].URL+"/customers/"+l.prefix+"-customer/personal-data", nil)
	expect(t, r.Status == http.StatusNoContent, "erase the load's customer: %s", r)
	l.mu.Lock()
	slots := slices.Clone(l.slots)
	l.mu.Unlock()
	for i, s := range slots {
		svc := svcs[i%len(svcs)]
		o := getOrder(t, svc.URL+"/orders/"+s.id.String())
		expectData(t, o != nil && o.Contact != nil && o.Contact.Erased && o.Contact.Name == nil,
			"order %s through %s after the erasure: %+v", s.id, svc.name, o)
		if o != nil && o.Status == api.OrderStatusPending {
			a := mustSendChecked(t, http.MethodPost, svc.URL+"/orders/"+s.id.String()+"/lines", jsonBody(map[string]any{"sku": "after-erasure", "quantity": 1, "unit_price_cents": 1}))
			expectData(t, a.Status == http.StatusOK && strings.Contains(string(a.Body), `"erased":true`) && !strings.Contains(string(a.Body), "Soak "+l.prefix),
				"a line added through %s after the erasure: %s", svc.name, a)
		}
	}
	runVerify(t, dbURL)
}
