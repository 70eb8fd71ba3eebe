package personaldata_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/test/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type contact struct {
	Name string `json:"name"`
}

type state struct {
	ID      int
	Contact kit.Personal[contact]
	Inner   struct{ Billing kit.Personal[contact] }
}

func newKEK(t *testing.T) *personaldata.LocalKEK {
	t.Helper()
	text, err := personaldata.NewKEKText()
	if err != nil {
		t.Fatal(err)
	}
	kek, err := personaldata.ParseKEK(text)
	if err != nil {
		t.Fatal(err)
	}
	return kek
}

// event is an event carrying personal data, as a store seals it.
type event struct {
	Order   int                   `json:"order,omitempty"`
	Contact kit.Personal[contact] `json:"contact"`
}

// sealEvent seals an event carrying name as subject's personal data in db, and returns
// its JSON as stored and the subjects sealed with a kept key.
func sealEvent(ctx context.Context, t *testing.T, keys *personaldata.Keys, db personaldata.DB, subject, name string) ([]byte, []string, error) {
	t.Helper()
	var e any = event{Order: 1, Contact: kit.Clear(subject, contact{Name: name})}
	changed, kept, err := keys.Seal(ctx, db, &e)
	if err != nil {
		return nil, nil, err
	}
	p, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if !changed || bytes.Contains(p, []byte(name)) || !bytes.Contains(p, []byte(`"pii_sealed"`)) {
		t.Fatalf("sealed (%v): %s", changed, p)
	}
	return p, kept, nil
}

// sealed returns the payload of an event carrying name as subject's personal data,
// sealed and stored as an event in its own transaction; as a store does, it runs again
// when a kept key was erased meanwhile.
func sealed(t *testing.T, pool *pgxpool.Pool, keys *personaldata.Keys, subject, name string) []byte {
	t.Helper()
	ctx := context.Background()
	for range 2 {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, kept, err := sealEvent(ctx, t, keys, tx, subject, name)
		if err != nil {
			t.Fatal(err)
		}
		err = store(ctx, tx, p)
		if personaldata.IsKeyGone(err) {
			keys.Forget(kept...)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Fatalf("sealing for %s: the kept key was gone twice", subject)
	return nil
}

// Seal leaves values without clear personal data as they are, and seals an event held
// by an interface in a copy: the slice it was cloned from (the events as decided, which
// the command's answer shows) keeps it clear.
func TestSealSealsCopiesOfEventsWithPersonalData(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))
	type plain struct{ Note string }
	decided := []any{event{Contact: kit.Clear("ida", contact{Name: "Ida"})}, plain{Note: "n"}, event{}}
	stored := slices.Clone(decided)
	changed, _, err := keys.Seal(ctx, pool, &stored[0], &stored[1], &stored[2])
	if err != nil || !changed {
		t.Fatalf("seal: %v %v", changed, err)
	}
	if !stored[0].(event).Contact.IsSealed() || !reflect.DeepEqual(stored[1:], decided[1:]) {
		t.Fatalf("stored: %+v", stored)
	}
	if v, ok := decided[0].(event).Contact.Value(); !ok || v.Name != "Ida" {
		t.Fatal("sealing changed the decided event")
	}
	if changed, _, err := keys.Seal(ctx, pool, &stored[0], &stored[1]); err != nil || changed {
		t.Fatalf("sealing sealed data again: %v %v", changed, err)
	}
	if _, _, err := keys.Seal(ctx, pool, stored[0]); err == nil {
		t.Fatal("Seal took a value, not a pointer")
	}
}

func stateOf(t *testing.T, payload []byte) state {
	t.Helper()
	var e struct {
		Contact kit.Personal[contact] `json:"contact"`
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatal(err)
	}
	return state{ID: 1, Contact: e.Contact}
}

func TestSealOpenErase(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))

	alice := sealed(t, pool, keys, "alice", "Alice Liddell")
	again := sealed(t, pool, keys, "alice", "Alice L.")
	bob := sealed(t, pool, keys, "bob", "Bob Dylan")
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM personal_data_keys`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d data keys (%v), want one per subject", n, err)
	}

	opened, err := keys.OpenPayloads(ctx, pool, [][]byte{alice, again, bob, []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`{"contact":{"name":"Alice Liddell"},"order":1}`, `{"contact":{"name":"Alice L."},"order":1}`, `{"contact":{"name":"Bob Dylan"},"order":1}`, `{"x":1}`} {
		if string(opened[i]) != want {
			t.Errorf("opened payload %d: %s, want %s", i, opened[i], want)
		}
	}

	s := stateOf(t, alice)
	var e any = stateOf(t, bob) // an event behind an interface
	if err := keys.Open(ctx, pool, &s, &e); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Contact.Value(); !ok || v.Name != "Alice Liddell" {
		t.Fatalf("opened state: %+v", s.Contact)
	}
	if v, ok := e.(state).Contact.Value(); !ok || v.Name != "Bob Dylan" {
		t.Fatalf("opened event: %+v", e)
	}

	if erased, err := personaldata.Erase(ctx, pool, "alice"); err != nil || !erased {
		t.Fatalf("erase: %v %v", erased, err)
	}
	opened, err = keys.OpenPayloads(ctx, pool, [][]byte{alice, bob})
	if err != nil {
		t.Fatal(err)
	}
	if string(opened[0]) != `{"contact":{"erased":true},"order":1}` || !strings.Contains(string(opened[1]), "Bob Dylan") {
		t.Fatalf("after erasing alice: %s / %s", opened[0], opened[1])
	}
	s = stateOf(t, alice)
	if err := keys.Open(ctx, pool, &s); err != nil || !s.Contact.IsErased() {
		t.Fatalf("alice's state after erasure: %+v %v", s.Contact, err)
	}

	// New data after the erasure gets a new key; the old data stays erased.
	fresh := sealed(t, pool, keys, "alice", "Alice again")
	opened, err = keys.OpenPayloads(ctx, pool, [][]byte{alice, fresh})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opened[0]), `"erased":true`) || !strings.Contains(string(opened[1]), "Alice again") {
		t.Fatalf("old and new data of alice: %s / %s", opened[0], opened[1])
	}
}

func TestOpenRefusesPersonalDataBehindPointers(t *testing.T) {
	keys := personaldata.NewKeys(newKEK(t))
	type bad struct{ Contacts []kit.Personal[contact] }
	if err := keys.Open(context.Background(), nil, &bad{}); err == nil || !strings.Contains(err.Error(), "behind a pointer, slice or map") {
		t.Fatalf("Open on a slice of personal data: %v", err)
	}
}

func TestPersonalDataWithoutAKEKIsRefused(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	e := event{Contact: kit.Clear("carol", contact{Name: "Carol"})}
	if _, _, err := personaldata.NewKeys(nil).Seal(ctx, pool, &e); err == nil || !strings.Contains(err.Error(), "PII_KEK") {
		t.Fatalf("sealing without a KEK: %v", err)
	}
	var nilKeys *personaldata.Keys
	if _, _, err := nilKeys.Seal(ctx, pool, &e); err == nil {
		t.Fatal("nil keys sealed personal data")
	}
	if e.Contact.IsSealed() {
		t.Fatal("a refused seal changed the value")
	}
}

func TestCheckNamesAMissingKEKAndRotationMovesEveryKey(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	oldKEK, newKEK := newKEK(t), newKEK(t)
	old := personaldata.NewKeys(oldKEK)
	payload := sealed(t, pool, old, "dave", "Dave Brubeck")
	sealed(t, pool, old, "erin", "Erin")

	for name, keys := range map[string]*personaldata.Keys{"a wrong KEK": personaldata.NewKeys(newKEK), "no KEK": personaldata.NewKeys(nil)} {
		err := keys.Check(ctx, pool)
		if err == nil || !strings.Contains(err.Error(), "2 wrapped by "+oldKEK.ID()) || !strings.Contains(err.Error(), "PII_KEK") {
			t.Fatalf("check with %s: %v", name, err)
		}
		if _, err := keys.OpenPayloads(ctx, pool, [][]byte{payload}); err == nil {
			t.Fatalf("opening with %s worked", name)
		}
	}
	if err := old.Check(ctx, pool); err != nil {
		t.Fatal(err)
	}

	rotating := personaldata.NewKeys(newKEK, oldKEK)
	if err := rotating.Check(ctx, pool); err != nil {
		t.Fatalf("check during a rotation: %v", err)
	}
	n, err := rotating.Rotate(ctx, pool, 1)
	if err != nil || n != 2 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	after := personaldata.NewKeys(newKEK)
	if err := after.Check(ctx, pool); err != nil {
		t.Fatalf("check after the rotation with the new KEK only: %v", err)
	}
	opened, err := after.OpenPayloads(ctx, pool, [][]byte{payload})
	if err != nil || !strings.Contains(string(opened[0]), "Dave Brubeck") {
		t.Fatalf("open after rotation: %s %v", opened, err)
	}
	if n, err := rotating.Rotate(ctx, pool, 10); err != nil || n != 0 {
		t.Fatalf("a second rotation: %d %v", n, err)
	}
}

// An erasure waits for a transaction that is sealing under the key: what that
// transaction stores is erased too, never left readable under a key made after.
func TestEraseWaitsForATransactionSealingUnderTheKey(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))
	sealed(t, pool, keys, "frank", "Frank")

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	p, _, err := sealEvent(ctx, t, keys, tx, "frank", "Frank Zappa")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		VALUES ('sealed', gen_random_uuid(), 1, gen_random_uuid(), 'Sealed', 1, $1)`, string(p)); err != nil {
		t.Fatal(err)
	}
	payloads := [][]byte{p}
	done := make(chan error, 1)
	go func() {
		_, err := personaldata.Erase(ctx, pool, "frank")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the erasure did not wait for the sealing transaction: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	opened, err := keys.OpenPayloads(ctx, pool, payloads)
	if err != nil || string(opened[0]) != `{"contact":{"erased":true},"order":1}` {
		t.Fatalf("what the sealing transaction stored, after the erasure: %s %v", opened, err)
	}
}

func TestParseKEK(t *testing.T) {
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := personaldata.ParseKEK(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	a, b := newKEK(t), newKEK(t)
	if a.ID() == b.ID() || !strings.HasPrefix(a.ID(), "local:") {
		t.Fatalf("ids %s %s", a.ID(), b.ID())
	}
	w, err := a.Wrap([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Unwrap(w); err == nil {
		t.Fatal("another KEK unwrapped a data key")
	}
	if k, err := a.Unwrap(w); err != nil || string(k) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("unwrap: %q %v", k, err)
	}
}

// An erasure also waits for a transaction that is creating the subject's first key:
// otherwise it would find nothing to delete, answer, and leave that data readable.
func TestEraseWaitsForATransactionCreatingTheKey(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	p, _, err := sealEvent(ctx, t, keys, tx, "grace", "Grace Hopper")
	if err != nil {
		t.Fatal(err)
	}
	payloads := [][]byte{p}
	done := make(chan bool, 1)
	go func() {
		etx, err := pool.Begin(ctx)
		if err != nil {
			t.Error(err)
			done <- false
			return
		}
		defer func() { _ = etx.Rollback(ctx) }()
		erased, err := personaldata.Erase(ctx, etx, "grace")
		if err == nil {
			err = etx.Commit(ctx)
		}
		if err != nil {
			t.Error(err)
		}
		done <- erased
	}()
	select {
	case <-done:
		t.Fatal("the erasure did not wait for the transaction creating the key")
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if erased := <-done; !erased {
		t.Fatal("the erasure found no key to delete")
	}
	opened, err := keys.OpenPayloads(ctx, pool, payloads)
	if err != nil || string(opened[0]) != `{"contact":{"erased":true},"order":1}` {
		t.Fatalf("what the creating transaction stored, after the erasure: %s %v", opened, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM personal_data_keys`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d key rows left (%v): the placeholder must go with the key", n, err)
	}
	if erased, err := personaldata.Erase(ctx, pool, "grace"); err != nil || erased {
		t.Fatalf("erasing again: %v %v", erased, err)
	}
}

// store inserts payload as an event in tx, as a store does with what it sealed there,
// and commits; the insert checks the data keys it is sealed under (migration 00017).
func store(ctx context.Context, tx pgx.Tx, payload []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		VALUES ('sealed', gen_random_uuid(), 1, gen_random_uuid(), 'Sealed', 1, $1)`, string(payload))
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		_ = tx.Rollback(ctx)
	}
	return err
}

// A data key this process sealed with is used again without a query, checked by the
// insert of the event; once the key is erased the check fails the transaction
// (IsKeyGone), and after Forget the subject gets a new key. An erased key is never used
// to store anything.
func TestAKeptKeyIsCheckedByTheEventsInsert(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))
	seal := func(name string) (pgx.Tx, []string, [][]byte) {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, kept, err := sealEvent(ctx, t, keys, tx, "henry", name)
		if err != nil {
			t.Fatal(err)
		}
		return tx, kept, [][]byte{p}
	}
	tx, kept, first := seal("Henry I")
	if len(kept) != 0 {
		t.Fatalf("the first seal used a kept key: %v", kept)
	}
	if err := store(ctx, tx, first[0]); err != nil {
		t.Fatal(err)
	}
	tx, kept, second := seal("Henry II")
	if len(kept) != 1 {
		t.Fatalf("the second seal did not use the kept key: %v", kept)
	}
	if err := store(ctx, tx, second[0]); err != nil {
		t.Fatal(err)
	}
	if opened, err := keys.OpenPayloads(ctx, pool, second); err != nil || !strings.Contains(string(opened[0]), "Henry II") {
		t.Fatalf("sealed with the kept key: %s %v", opened, err)
	}

	if _, err := personaldata.Erase(ctx, pool, "henry"); err != nil {
		t.Fatal(err)
	}
	tx, kept, third := seal("Henry III")
	if err := store(ctx, tx, third[0]); !personaldata.IsKeyGone(err) {
		t.Fatalf("an event sealed with an erased kept key was stored: %v", err)
	}
	keys.Forget(kept...)
	tx, kept, fourth := seal("Henry IV")
	if len(kept) != 0 {
		t.Fatalf("after Forget the seal still used the kept key")
	}
	if err := store(ctx, tx, fourth[0]); err != nil {
		t.Fatal(err)
	}
	opened, err := keys.OpenPayloads(ctx, pool, [][]byte{second[0], fourth[0]})
	if err != nil || !strings.Contains(string(opened[0]), `"erased":true`) || !strings.Contains(string(opened[1]), "Henry IV") {
		t.Fatalf("after the erasure and a new key: %s %v", opened, err)
	}
}

// The events table refuses, whoever writes it, an event holding a value sealed under a
// key that is not its subject's (erased, another subject's, never made), wherever in
// the payload the value is; erased values and events without personal data pass.
func TestTheEventsInsertRefusesDataSealedUnderAKeyNotItsSubjects(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))
	var mias, noahs string
	for subject, key := range map[string]*string{"mia": &mias, "noah": &noahs} {
		var e struct {
			Contact struct {
				Key string `json:"pii_key"`
			} `json:"contact"`
		}
		if err := json.Unmarshal(sealed(t, pool, keys, subject, "Name of "+subject), &e); err != nil {
			t.Fatal(err)
		}
		*key = e.Contact.Key
	}
	value := func(subject, key string) string {
		return `{"pii_subject":"` + subject + `","pii_key":"` + key + `","pii_sealed":"AAAA"}`
	}
	insert := func(payload string) error {
		_, err := pool.Exec(ctx, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
			VALUES ('sealed', gen_random_uuid(), 1, gen_random_uuid(), 'Sealed', 1, $1)`, payload)
		return err
	}
	for name, payload := range map[string]string{
		"under its subject's key":      `{"contact":` + value("mia", mias) + `}`,
		"nested in objects and arrays": `{"lines":[{"to":` + value("mia", mias) + `}],"from":{"who":` + value("noah", noahs) + `}}`,
		"erased":                       `{"contact":{"pii_subject":"mia","pii_erased":true}}`,
		"without personal data":        `{"note":"pii_key"}`,
	} {
		if err := insert(payload); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
	for name, payload := range map[string]string{
		"under another subject's key":       `{"contact":` + value("mia", noahs) + `}`,
		"under a key never made":            `{"contact":` + value("mia", "0193b5c4-7d2e-7000-8000-000000000001") + `}`,
		"one good, one bad, deep in arrays": `{"a":` + value("mia", mias) + `,"b":[[{"c":` + value("noah", mias) + `}]]}`,
	} {
		if err := insert(payload); !personaldata.IsKeyGone(err) {
			t.Errorf("%s: %v, want the key check's error", name, err)
		}
	}
	if _, err := personaldata.Erase(ctx, pool, "noah"); err != nil {
		t.Fatal(err)
	}
	if err := insert(`{"contact":` + value("noah", noahs) + `}`); !personaldata.IsKeyGone(err) {
		t.Errorf("under an erased key: %v, want the key check's error", err)
	}
}

func TestIsKeyGoneIsOnlyTheKeyCheck(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	_, other := pool.Exec(ctx, `SELECT 1/0`)
	_, gone := pool.Exec(ctx, `SELECT personal_data_key_held('nobody', gen_random_uuid())`)
	if personaldata.IsKeyGone(nil) || personaldata.IsKeyGone(other) || !personaldata.IsKeyGone(gone) {
		t.Fatalf("IsKeyGone: nil %v, division by zero %v, a gone key %v (%v)", personaldata.IsKeyGone(nil), personaldata.IsKeyGone(other), personaldata.IsKeyGone(gone), gone)
	}
}

// A sealed value that was cut or altered is an error when opened, never a panic and
// never shown as erased (its key exists: it was tampered with).
func TestTamperedDataIsAnError(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))
	p := sealed(t, pool, keys, "jack", "Jack Kerouac")
	var doc map[string]any
	if err := json.Unmarshal(p, &doc); err != nil {
		t.Fatal(err)
	}
	c := doc["contact"].(map[string]any)
	for name, ct := range map[string]string{"cut to 5 bytes": "AAECAwQ=", "one byte short of a tag": strings.Repeat("A", 36), "altered": "", "not base64": "not base64!"} {
		orig := c["pii_sealed"].(string)
		if name == "altered" {
			b, err := base64.StdEncoding.DecodeString(orig)
			if err != nil {
				t.Fatal(err)
			}
			b[20] ^= 1
			ct = base64.StdEncoding.EncodeToString(b)
		}
		c["pii_sealed"] = ct
		bad, _ := json.Marshal(doc)
		c["pii_sealed"] = orig
		if _, err := keys.OpenPayloads(ctx, pool, [][]byte{bad}); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

// The keys kept for sealing are per subject: keeping another's does not drop one.
func TestKeptKeysArePerSubject(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))
	seal := func(subject string) []string {
		t.Helper()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, kept, err := sealEvent(ctx, t, keys, tx, subject, "Name of "+subject)
		if err == nil {
			err = store(ctx, tx, p)
		}
		if err != nil {
			t.Fatal(err)
		}
		return kept
	}
	seal("kate")
	seal("liam")
	if kept := seal("kate"); len(kept) != 1 || kept[0] != "kate" {
		t.Fatalf("kate's third seal used kept keys %v, want [kate]", kept)
	}
	if kept := seal("liam"); len(kept) != 1 || kept[0] != "liam" {
		t.Fatalf("liam's second seal used kept keys %v, want [liam]", kept)
	}
}

// HasClear finds a clear kit.Personal wherever encoding/json put it (an interface field,
// which Seal cannot reach), and nothing in strings that merely mention its field name.
func TestHasClearFindsOnlyClearPersonalData(t *testing.T) {
	type wrapper struct {
		Note  string `json:"note"`
		Extra any    `json:"extra"`
	}
	inClear, _ := json.Marshal(wrapper{Extra: kit.Clear("kim", contact{Name: "Kim"})})
	mention, _ := json.Marshal(wrapper{Note: `,"pii_clear":{"name":"x"}`, Extra: "pii_clear"})
	sealedOne := sealed(t, pgtest.NewPool(t), personaldata.NewKeys(newKEK(t)), "kim", "Kim")
	if !personaldata.HasClear(inClear) || personaldata.HasClear(mention) || personaldata.HasClear(sealedOne) {
		t.Fatalf("HasClear: clear %v, mention %v, sealed %v", personaldata.HasClear(inClear), personaldata.HasClear(mention), personaldata.HasClear(sealedOne))
	}
}
