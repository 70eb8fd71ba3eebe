package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// recognisable is personal data no other byte sequence in the database or the log
// could match by chance.
type recognisable struct{ name, email, line1, postal, city string }

func newRecognisable() recognisable {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	tag := hex.EncodeToString(b)
	return recognisable{name: "Zebulon Quix" + tag, email: "zq" + tag + "@example.org", line1: tag + " Marmalade Lane",
		postal: "Q" + tag[:6], city: "Vexbury" + tag}
}

func (r recognisable) all() []string { return []string{r.name, r.email, r.line1, r.postal, r.city} }

func (r recognisable) body(customer string) string {
	return fmt.Sprintf(`{"customer_id":%q,"currency":"EUR","contact":{"name":%q,"email":%q,"address":{"line1":%q,"postal_code":%q,"city":%q,"country":"FR"}}}`,
		customer, r.name, r.email, r.line1, r.postal, r.city)
}

// TestPersonalDataIsSealedAndErased: a customer's contact is shown to whoever may read
// the order and is stored only sealed; after DELETE /customers/{id}/personal-data every
// way to read it shows {"erased": true}, commands on the orders still work, verify stays
// clean, and neither a pg_dump of the database nor the service's debug log holds any of
// it, before or after.
func TestPersonalDataIsSealedAndErased(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	srv := startServerOn(t, db, map[string]string{"LOG_LEVEL": "debug"})
	base := srv.URL
	alice, bob := uniqueCustomer("pii-alice"), uniqueCustomer("pii-bob")
	ap, bp := newRecognisable(), newRecognisable()

	place := func(customer string, p recognisable) api.Order {
		r := do(t, http.MethodPost, base+"/orders", p.body(customer), as(customer, "")...)
		if r.Status != http.StatusCreated {
			t.Fatalf("place with a contact: %s", r)
		}
		o := decode[api.Order](t, "place", r.Body)
		if o.Contact == nil || o.Contact.Erased || *o.Contact.Name != p.name || o.Contact.Address.City != p.city {
			t.Fatalf("the placing response shows the contact as %+v", o.Contact)
		}
		return o
	}
	a1, a2, b1 := place(alice, ap), place(alice, ap), place(bob, bp)
	// An order placed with an Idempotency-Key: its repeat after the erasure answers
	// from the kept outcome, which holds no personal data.
	key := []string{"Idempotency-Key", "pii-" + alice}
	keyed := do(t, http.MethodPost, base+"/orders", ap.body(alice), append(as(alice, ""), key...)...)
	if keyed.Status != http.StatusCreated {
		t.Fatalf("keyed place: %s", keyed)
	}
	addLine(t, newClient(t, base), a1.Id, "SKU-1", 1, 100)

	shows := func(where string, body []byte, p recognisable, want bool) {
		t.Helper()
		for _, s := range p.all() {
			if strings.Contains(string(body), s) != want {
				t.Errorf("%s: shows %q: %v, want %v: %s", where, s, !want, want, body)
			}
		}
	}
	// reads answers every way to read the order; the feed once it holds lastType, the
	// type of the event written last.
	reads := func(id, customer, lastType string) map[string][]byte {
		out := map[string][]byte{"feed": feedWith(t, base, lastType)}
		for name, path := range map[string]string{
			"order": "/orders/" + id, "version 1": "/orders/" + id + "?version=1", "history": "/orders/" + id + "/events",
			"list": "/orders?customer_id=" + customer,
		} {
			r := do(t, http.MethodGet, base+path, "")
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %s", path, r)
			}
			out[name] = r.Body
		}
		return out
	}
	shows("the keyed repeat before the erasure", do(t, http.MethodPost, base+"/orders", ap.body(alice), append(as(alice, ""), key...)...).Body, ap, true)
	for name, body := range reads(a1.Id.String(), alice, "OrderLineAdded") {
		shows("before erasure, "+name, body, ap, true)
	}
	shows("alice's own read", do(t, http.MethodGet, base+"/orders/"+a2.Id.String(), "", as(alice, "")...).Body, ap, true)
	assertNotIn(t, "a pg_dump before the erasure", pgDump(t, db), ap, bp)

	// Only the customer itself or staff may erase.
	if r := do(t, http.MethodDelete, base+"/customers/"+alice+"/personal-data", "", as(bob, "")...); r.Status != http.StatusForbidden {
		t.Fatalf("bob erasing alice: %s", r)
	}
	if r := do(t, http.MethodDelete, base+"/customers/"+alice+"/personal-data", "", as(alice, "")...); r.Status != http.StatusNoContent {
		t.Fatalf("alice erasing her data: %s", r)
	}
	if r := do(t, http.MethodDelete, base+"/customers/"+alice+"/personal-data", ""); r.Status != http.StatusNoContent {
		t.Fatalf("erasing again: %s", r)
	}

	for name, body := range reads(a1.Id.String(), alice, "PersonalDataErased") {
		shows("after erasure, "+name, body, ap, false)
		if name != "list" && name != "feed" && !strings.Contains(string(body), `"erased":true`) {
			t.Errorf("after erasure, %s does not say the contact was erased: %s", name, body)
		}
	}
	shows("bob's order after alice's erasure", do(t, http.MethodGet, base+"/orders/"+b1.Id.String(), "").Body, bp, true)
	feed := feedWith(t, base, "PersonalDataErased")
	if !strings.Contains(string(feed), bp.name) {
		t.Errorf("the feed lacks bob's contact: %s", feed)
	}

	repeat := do(t, http.MethodPost, base+"/orders", ap.body(alice), append(as(alice, ""), key...)...)
	if repeat.Status != http.StatusCreated || repeat.Header.Get("Location") != keyed.Header.Get("Location") || !strings.Contains(string(repeat.Body), `"erased":true`) {
		t.Errorf("the keyed repeat after the erasure: %s (first answer at %s)", repeat, keyed.Header.Get("Location"))
	}
	shows("the keyed repeat after the erasure", repeat.Body, ap, false)

	// Commands on an erased customer's orders still work, and say it is erased.
	o := addLine(t, newClient(t, base), a2.Id, "SKU-2", 2, 250)
	if o.Contact == nil || !o.Contact.Erased || o.Contact.Name != nil {
		t.Errorf("adding a line after the erasure shows the contact as %+v", o.Contact)
	}
	confirmOrder(t, newClient(t, base), a2.Id)
	// A new order after the erasure gets a new key, and shows its contact.
	cp := newRecognisable()
	a3 := place(alice, cp)
	shows("alice's new order", do(t, http.MethodGet, base+"/orders/"+a3.Id.String(), "").Body, cp, true)

	// The event stream (SSE) from the start: alice's old contacts erased, bob's shown.
	stream := openStream(t, streamClient, base+"/events/stream", 0)
	var sse strings.Builder
	for deadline := time.After(5 * time.Second); !strings.Contains(sse.String(), `"PersonalDataErased"`); {
		select {
		case m := <-stream.msgs:
			sse.WriteString(m.data + "\n")
		case <-deadline:
			t.Fatalf("the event stream did not reach the erasure in 5s:\n%s", sse.String())
		}
	}
	shows("the event stream", []byte(sse.String()), ap, false)
	shows("the event stream", []byte(sse.String()), bp, true)
	if !strings.Contains(sse.String(), `"erased":true`) {
		t.Errorf("the event stream does not show the erased contacts: %s", sse.String())
	}

	// A rebuild of the read models replays ciphertext: verify stays clean, reads erased.
	runRebuildE2E(t, db)
	shows("the order after a rebuild", do(t, http.MethodGet, base+"/orders/"+a1.Id.String(), "").Body, ap, false)
	shows("bob's order after a rebuild", do(t, http.MethodGet, base+"/orders/"+b1.Id.String(), "").Body, bp, true)
	runVerifyE2E(t, db)
	assertNotIn(t, "a pg_dump after the erasure", pgDump(t, db), ap)
	assertNotIn(t, "the service's debug log", []byte(srv.out.String()), ap, bp, cp)
	// The log is at debug level: a refused token's reason is logged at debug only.
	do(t, http.MethodGet, base+"/orders/"+a1.Id.String(), "", "Authorization", "Bearer not-a-token")
	time.Sleep(50 * time.Millisecond)
	if !strings.Contains(srv.out.String(), `"level":"DEBUG"`) {
		t.Errorf("the log is not at debug level, so it proves little:\n%.2000s", srv.out.String())
	}
	assertNotIn(t, "the service's debug log", []byte(srv.out.String()), ap, bp, cp)
}

func assertNotIn(t *testing.T, where string, text []byte, people ...recognisable) {
	t.Helper()
	for _, p := range people {
		for _, s := range p.all() {
			if strings.Contains(string(text), s) {
				t.Errorf("%s holds %q in clear", where, s)
			}
		}
	}
}

// pgDump is a full pg_dump of the database (as its owner): data, schema, everything.
func pgDump(t *testing.T, db string) []byte {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump"); len(dirs) > 0 {
		sort.Strings(dirs)
		bin, err = dirs[len(dirs)-1], nil
	}
	if err != nil {
		t.Fatalf("pg_dump is needed (PostgreSQL's client programs): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--dbname="+db, "--no-owner").Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !strings.Contains(string(out), "COPY public.events") {
		t.Fatalf("pg_dump has no events table: %.500s", out)
	}
	return out
}

// runRebuildE2E runs `orders rebuild` (every inline read model) on the database.
func runRebuildE2E(t *testing.T, db string) {
	t.Helper()
	if out, err := runBinary(t, db, nil, "rebuild"); err != nil {
		t.Fatalf("orders rebuild: %v\n%s", err, out)
	}
}

// runBinary runs the binary with args on the database, as the service's role, with env
// added, and returns what it printed.
func runBinary(t *testing.T, db string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vars, err := testsupport.ServiceEnv(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = serverEnv(vars)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// feedWith reads the feed's first page until it holds an event of type eventType. The
// feed serves only the events no running transaction can still precede: read at once
// after a write, while another transaction runs (a consumer's, say), its page can end
// short of that write, at head for now. An event found means every one before it is
// on the page too.
func feedWith(t *testing.T, base, eventType string) []byte {
	t.Helper()
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		r := do(t, http.MethodGet, base+"/events?limit=100", "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET /events: %s", r)
		}
		if body = r.Body; strings.Contains(string(body), `"`+eventType+`"`) {
			return body
		}
	}
	t.Fatalf("the feed shows no %s within 10 s: %s", eventType, body)
	return nil
}
