package kit

import (
	"encoding/json"
	"testing"
)

// MarshalJSON writes sealed and erased data by hand: it must be, byte for byte, what
// encoding/json writes for the same fields, whatever the subject and key hold (quotes,
// backslashes, HTML, control characters, U+2028, invalid UTF-8).
func TestPersonalJSONIsWhatEncodingJSONWrites(t *testing.T) {
	type city struct {
		City string `json:"city"`
	}
	texts := []string{"kim", "0193b5c4-7d2e-7000-8000-000000000001", `a "quoted" one`, `back\slash`, "a<b", "a>b", "a&b", "tab\tbed", "\x00", "\x1f", "\x7f", "émile", "line\u2028sep", "bad \xff utf-8", "~ !#$%"}
	var cases []Personal[city]
	for _, s := range texts {
		for _, k := range texts {
			cases = append(cases, Personal[city]{subject: s, key: k, sealed: []byte{0, 1, 2, 0xfb, 0xff}})
		}
		cases = append(cases, Personal[city]{subject: s, erased: true}, Personal[city]{subject: s, key: "k", sealed: []byte{}},
			Personal[city]{subject: s, sealed: []byte("no key")}, Clear(s, city{City: s}))
	}
	for _, p := range cases {
		got, err := p.MarshalJSON()
		want, _ := json.Marshal(personalJSON[city]{Subject: p.subject, Clear: p.value, Key: p.key, Sealed: p.sealed, Erased: p.erased})
		if err != nil || string(got) != string(want) {
			t.Errorf("%+v: MarshalJSON wrote %s (%v), encoding/json %s", p, got, err, want)
		}
	}
}
