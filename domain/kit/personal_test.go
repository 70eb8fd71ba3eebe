package kit_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/example/orders/domain/kit"
)

type address struct {
	City string `json:"city"`
}

func TestPersonalJSONKeepsEachForm(t *testing.T) {
	plain := kit.Clear("alice", address{City: "Lyon"})
	b, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"pii_subject":"alice","pii_clear":{"city":"Lyon"}}` {
		t.Fatalf("clear form: %s", got)
	}
	var back kit.Personal[address]
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if v, ok := back.Value(); !ok || v.City != "Lyon" || back.Subject() != "alice" {
		t.Fatalf("round trip of the clear form: %+v %v", v, ok)
	}

	var sealed kit.Personal[address]
	if err := json.Unmarshal([]byte(`{"pii_subject":"alice","pii_key":"k1","pii_sealed":"AQID"}`), &sealed); err != nil {
		t.Fatal(err)
	}
	key, ct, ok := sealed.SealedForm()
	if !ok || key != "k1" || string(ct) != "\x01\x02\x03" || !sealed.IsSealed() {
		t.Fatalf("sealed form: %q %v %v", key, ct, ok)
	}
	if _, ok := sealed.Value(); ok {
		t.Fatal("sealed data has a clear value")
	}
	opened := sealed
	if err := opened.OpenWith([]byte(`{"city":"Nice"}`)); err != nil {
		t.Fatal(err)
	}
	if v, ok := opened.Value(); !ok || v.City != "Nice" || opened.IsSealed() || opened.Subject() != "alice" {
		t.Fatalf("opened: %+v", opened)
	}
	if _, _, ok := sealed.SealedForm(); !ok {
		t.Fatal("opening a copy changed the original")
	}
	erased := sealed
	erased.MarkErased()
	b, _ = json.Marshal(erased)
	if string(b) != `{"pii_subject":"alice","pii_erased":true}` || !erased.IsErased() {
		t.Fatalf("erased form: %s", b)
	}

	var none kit.Personal[address]
	if b, _ := json.Marshal(none); string(b) != "null" || none.IsSet() {
		t.Fatalf("unset: %s", b)
	}
}

func TestPersonalJSONRefusesAmbiguousForms(t *testing.T) {
	for _, bad := range []string{
		`{"pii_clear":{"city":"x"}}`,
		`{"pii_subject":"a"}`,
		`{"pii_subject":"a","pii_clear":{"city":"x"},"pii_erased":true}`,
		`{"pii_subject":"a","pii_sealed":"AQID"}`,
		`{"pii_subject":"a","pii_key":"k","pii_sealed":"AQID","pii_clear":{}}`,
	} {
		var p kit.Personal[address]
		if err := json.Unmarshal([]byte(bad), &p); err == nil || !strings.Contains(err.Error(), "exactly one") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// SealWith hands the clear value's JSON to the sealer and keeps what it returns; a copy
// taken before is untouched, and data that is not clear is left as it is.
func TestSealWithReplacesOnlyAClearValue(t *testing.T) {
	inClear := kit.Clear("alice", address{City: "Lyon"})
	sealed := inClear
	var got []byte
	ok, err := sealed.SealWith(func(clearJSON []byte) (string, []byte, error) {
		got = clearJSON
		return "k1", []byte{1, 2, 3}, nil
	})
	if err != nil || !ok || string(got) != `{"city":"Lyon"}` {
		t.Fatalf("sealing: %v %v, sealer got %s", ok, err, got)
	}
	if key, ct, isSealed := sealed.SealedForm(); !isSealed || key != "k1" || string(ct) != "\x01\x02\x03" || sealed.Subject() != "alice" {
		t.Fatalf("sealed form: %q %v %v", key, ct, isSealed)
	}
	if _, hasValue := sealed.Value(); hasValue {
		t.Fatal("the sealed form kept the clear value")
	}
	if v, hasValue := inClear.Value(); !hasValue || v.City != "Lyon" || inClear.IsSealed() {
		t.Fatal("sealing a copy changed the original")
	}
	for name, p := range map[string]kit.Personal[address]{"sealed": sealed, "unset": {}} {
		if ok, err := p.SealWith(func([]byte) (string, []byte, error) {
			t.Fatalf("%s data sent to the sealer", name)
			return "", nil, nil
		}); ok || err != nil {
			t.Fatalf("%s: %v %v", name, ok, err)
		}
	}
	failing := inClear
	if ok, err := failing.SealWith(func([]byte) (string, []byte, error) { return "", nil, errors.New("no key") }); ok || err == nil {
		t.Fatalf("a failing sealer: %v %v", ok, err)
	}
	if _, hasValue := failing.Value(); !hasValue {
		t.Fatal("a failed seal dropped the clear value")
	}
}
