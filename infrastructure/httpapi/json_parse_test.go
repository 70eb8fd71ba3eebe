package httpapi

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// jsonParseSeeds are bodies worth starting from: valid ones of every kind, and the
// ways a body is not one JSON value.
var jsonParseSeeds = []string{
	`{"customer_id":"cust-42","currency":"EUR"}`, `{"sku":"s","quantity":2.0,"unit_price_cents":1e2}`, `{"a":[1,-0,0.5,1E+2,-1e-2,[],{}]}`,
	`{"a":"\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r"}`, `"x"`, `1`, `-0.0`, `true`, `false`, `null`, `[]`, ` { } `, "\t[\r\n]\n",
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"a":1}}`, `{"q":2.0}}`, `0.0}`, `[1]]`, `{"a":1} {}`, "{}\u00a0", "{}\u0085 ",
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\t\"}",
	`{"a" 1}`, `{"a":1,}`, `[1,]`, `{,}`, `{"a"}`, `{1:2}`, `[`, `"`, ``, ` `, `9007199254740993.0`, `1e400`, `123456789012345678901234567890`,
	strings.Repeat(`[`, 513) + strings.Repeat(`]`, 513), strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40),
}

// FuzzJSONBodyParsers: whatever the fast parser accepts, encoding/json (slowJSONBody,
// the rules as they were) accepts too, as the same value; what it refuses,
// slowJSONBody explains. So parseJSONBody answers as the decoding before it did.
//
//	go test -run '^$' -fuzz '^FuzzJSONBodyParsers$' -fuzztime 60s ./infrastructure/httpapi/
func FuzzJSONBodyParsers(f *testing.F) {
	for _, s := range jsonParseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !utf8.Valid(raw) || hasLoneSurrogate(raw) {
			return // refused before either parser runs
		}
		fast, ok := fastJSONBody(raw)
		slow, bad := slowJSONBody(raw)
		if !ok {
			return
		}
		if bad != nil {
			t.Fatalf("%q: the fast parser accepts what encoding/json refuses: %s %s", raw, bad.Field, bad.Message)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: the fast parser gives %#v, encoding/json %#v", raw, fast, slow)
		}
	})
}

// TestBodyIsOneJSONValue: a body is exactly one JSON value, whether or not a number in
// it is rewritten as an integer (before, {"quantity":2.0}} lost its second brace to the
// rewrite and was accepted).
func TestBodyIsOneJSONValue(t *testing.T) {
	for _, raw := range []string{`{"quantity":2.0}}`, `{"quantity":2}}`, `0.0}`, `[2.0]]`} {
		if v, bad := parseJSONBody([]byte(raw)); bad == nil || bad.Message != "is not valid JSON: unexpected data after the JSON value" {
			t.Errorf("%s: %#v %#v", raw, v, bad)
		}
	}
	v, bad := parseJSONBody([]byte(`{"quantity":2.0,"price":1e2,"ratio":0.5}`))
	want := map[string]any{"quantity": json.Number("2"), "price": json.Number("100"), "ratio": json.Number("0.5")}
	if bad != nil || !v.rewritten || !reflect.DeepEqual(v.value, want) {
		t.Errorf("integral numbers: %#v %#v", v, bad)
	}
}

// FuzzUUIDFormat: isUUID accepts exactly what kin-openapi's RFC 9562 pattern does.
func FuzzUUIDFormat(f *testing.F) {
	re := regexp.MustCompile(openapi3.FormatOfStringForUUIDOfRFC9562)
	for _, s := range []string{"5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11", "5F2C7C1E-8B1A-7E8E-BD3C-2A6F0B7D4E11", "00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff", "FFFFFFFF-ffff-FFFF-ffff-FFFFFFFFFFFF", "5f2c7c1e-8b1a-9e8e-9d3c-2a6f0b7d4e11",
		"5f2c7c1e-8b1a-4e8e-cd3c-2a6f0b7d4e11", "5f2c7c1e8b1a4e8e9d3c2a6f0b7d4e11", "{5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11}",
		"5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e1g", "00000000-0000-0000-0000-000000000001", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isUUID(s), re.MatchString(s); got != want {
			t.Fatalf("%q: isUUID %v, the pattern %v", s, got, want)
		}
	})
}
