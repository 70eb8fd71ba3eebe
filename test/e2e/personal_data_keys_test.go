package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

func newKEKText(t *testing.T) string {
	t.Helper()
	k, err := personaldata.NewKEKText()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// placeWithContact places an order for customer with p as its contact, as the customer.
func placeWithContact(base, customer string, p recognisable) (api.Order, error) {
	r, err := tryDo(http.MethodPost, base+"/orders", p.body(customer), as(customer, "")...)
	if err != nil {
		return api.Order{}, err
	}
	if r.Status != http.StatusCreated {
		return api.Order{}, fmt.Errorf("place: %s", r)
	}
	var o api.Order
	return o, json.Unmarshal(r.Body, &o)
}

// A lost or wrong key encryption key stops the service at start, with a message that
// names the problem, instead of failing later or showing garbage.
func TestAWrongOrMissingKEKStopsTheStart(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	s := startServerOn(t, db, nil)
	if _, err := placeWithContact(s.URL, uniqueCustomer("kek"), newRecognisable()); err != nil {
		t.Fatal(err)
	}
	s.stop(t)

	for name, env := range map[string]map[string]string{
		"another KEK": {"PII_KEK": newKEKText(t)},
		"no KEK":      {"PII_KEK": ""},
	} {
		_, _, err := launch(db, env, []string{"serve"}, "/readyz")
		if err == nil || !strings.Contains(err.Error(), "stored data keys need a key encryption key that is not configured") || !strings.Contains(err.Error(), "PII_KEK") {
			t.Errorf("start with %s: %v", name, err)
		}
	}
	if _, _, err := launch(db, map[string]string{"PII_KEK": "not base64!"}, []string{"serve"}, "/readyz"); err == nil || !strings.Contains(err.Error(), "base64 of 32 random bytes") {
		t.Errorf("start with a malformed KEK: %v", err)
	}
	// The right key starts it again.
	startServerOn(t, db, nil)
}

// keys rotate re-wraps every data key under the new KEK while two replicas serve
// orders with contacts and read them back; nothing fails, nothing is lost, and
// afterwards the old KEK is no longer needed.
func TestKeyRotationUnderLoad(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	old, fresh := testsupport.PIIKEK, newKEKText(t)
	first := startServerOn(t, db, nil)
	before := map[string]recognisable{}
	for i := range 20 {
		c, p := uniqueCustomer(fmt.Sprintf("rot%d", i)), newRecognisable()
		o, err := placeWithContact(first.URL, c, p)
		if err != nil {
			t.Fatal(err)
		}
		before[o.Id.String()] = p
	}
	first.stop(t)

	// Every replica learns the new key, keeping the old one for unwrapping.
	both := map[string]string{"PII_KEK": fresh, "PII_KEK_PREVIOUS": old}
	a, b := startServerOn(t, db, both), startServerOn(t, db, both)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var placed, failures atomic.Int64
	var mu sync.Mutex
	during := map[string]recognisable{}
	for w, base := range []string{a.URL, b.URL, a.URL, b.URL} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := recognisable{name: fmt.Sprintf("Load %d-%d", w, i), email: fmt.Sprintf("l%d-%d@example.org", w, i), line1: "1 Load St", postal: "L1", city: "Loadville"}
				o, err := placeWithContact(base, uniqueCustomer("load"), p)
				if err != nil {
					failures.Add(1)
					t.Error(err)
					return
				}
				mu.Lock()
				during[o.Id.String()] = p
				mu.Unlock()
				placed.Add(1)
				for id := range before {
					if err := showsContact(base, id, before[id]); err != nil {
						failures.Add(1)
						t.Error(err)
						return
					}
					break
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	out := runKeysRotate(t, db, both)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if placed.Load() == 0 || failures.Load() > 0 {
		t.Fatalf("%d orders placed during the rotation, %d failures", placed.Load(), failures.Load())
	}
	t.Logf("rotation: %s; %d orders placed by 2 replicas meanwhile", strings.TrimSpace(out), placed.Load())

	// A replica with the new key only starts, and opens everything.
	only := startServerOn(t, db, map[string]string{"PII_KEK": fresh})
	for id, p := range before {
		if err := showsContact(only.URL, id, p); err != nil {
			t.Error(err)
		}
	}
	for id, p := range during {
		if err := showsContact(only.URL, id, p); err != nil {
			t.Error(err)
		}
	}
	runVerifyE2E(t, db)
}

func showsContact(base, id string, p recognisable) error {
	r, err := tryDo(http.MethodGet, base+"/orders/"+id, "")
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), p.name) || !strings.Contains(string(r.Body), p.city) {
		return fmt.Errorf("GET /orders/%s does not show %s: %s", id, p.name, r)
	}
	return nil
}

func runKeysRotate(t *testing.T, db string, env map[string]string) string {
	t.Helper()
	out, err := runBinary(t, db, env, "keys", "rotate")
	if err != nil || !strings.Contains(out, "data keys re-wrapped") {
		t.Fatalf("keys rotate: %v: %s", err, out)
	}
	return out
}

// An erasure racing commands on the same customer's orders, through two replicas:
// orders placed before the erasure answered show erased, orders placed after it show
// their contact under a new key, commands never fail, verify stays clean, and a
// pg_dump holds none of the erased data.
func TestErasureRacesCommandsAcrossReplicas(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	a, b := startServerOn(t, db, nil), startServerOn(t, db, nil)
	bases := []string{a.URL, b.URL}
	const customers = 6
	var erasedData []recognisable
	for c := range customers {
		customer := uniqueCustomer(fmt.Sprintf("race%d", c))
		var mu sync.Mutex
		type placedOrder struct {
			id      string
			p       recognisable
			started time.Time
			done    time.Time
		}
		var orders []placedOrder
		var wg sync.WaitGroup
		var erasedAt, erasing time.Time
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 6 {
					p := newRecognisable()
					start := time.Now()
					o, err := placeWithContact(bases[(w+i)%2], customer, p)
					if err != nil {
						t.Error(err)
						return
					}
					// A command on the order while the erasure may be running.
					if r, err := tryDo(http.MethodPost, bases[(w+i+1)%2]+"/orders/"+o.Id.String()+"/lines", `{"sku":"S","quantity":1,"unit_price_cents":5}`); err != nil || r.Status != http.StatusOK {
						t.Errorf("add line during the erasure: %v %v", r, err)
						return
					}
					mu.Lock()
					orders = append(orders, placedOrder{o.Id.String(), p, start, time.Now()})
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(5+c*3) * time.Millisecond)
		erasing = time.Now()
		if r := do(t, http.MethodDelete, bases[c%2]+"/customers/"+customer+"/personal-data", ""); r.Status != http.StatusNoContent {
			t.Fatalf("erase: %s", r)
		}
		erasedAt = time.Now()
		wg.Wait()
		for _, o := range orders {
			r := do(t, http.MethodGet, bases[0]+"/orders/"+o.id, "")
			shown := strings.Contains(string(r.Body), o.p.name)
			erased := strings.Contains(string(r.Body), `"erased":true`)
			switch {
			case shown == erased:
				t.Errorf("order %s: shown %v, erased %v: %s", o.id, shown, erased, r.Body)
			case o.done.Before(erasing) && !erased:
				t.Errorf("order %s was placed before the erasure started, yet shows its contact", o.id)
			case o.started.After(erasedAt) && !shown:
				t.Errorf("order %s was placed after the erasure answered, yet shows erased", o.id)
			}
			if erased {
				erasedData = append(erasedData, o.p)
				// Each replica has the order's state cached from the commands above;
				// a command through either answers with the contact erased.
				for _, base := range bases {
					r := do(t, http.MethodPost, base+"/orders/"+o.id+"/lines", `{"sku":"T","quantity":1,"unit_price_cents":1}`)
					if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"erased":true`) || strings.Contains(string(r.Body), o.p.name) {
						t.Errorf("a command on erased order %s through %s: %s", o.id, base, r)
					}
				}
			}
		}
	}
	if len(erasedData) == 0 {
		t.Fatal("no order was erased: the race did not happen")
	}
	runVerifyE2E(t, db)
	assertNotIn(t, "a pg_dump after the erasures", pgDump(t, db), erasedData...)
}

// Without a key encryption key the service runs, places orders without a contact, and
// refuses one with a contact (503: it cannot store it safely), storing nothing.
func TestWithoutAKEKContactsAreRefused(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	base := startServerOn(t, db, map[string]string{"PII_KEK": ""}).URL
	customer := uniqueCustomer("nokek")
	if _, err := placeWithContact(base, customer, newRecognisable()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a contact without a KEK: %v", err)
	}
	placeOrder(t, newClient(t, base), customer)
	if n := len(streamLengths(t, db)); n != 1 {
		t.Fatalf("%d streams, want only the order without a contact", n)
	}
}
