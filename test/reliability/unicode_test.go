package reliability

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/example/orders/api"
)

// verdict is what the contract says about a value.
type verdict int

const (
	mustAccept verdict = iota // within the contract: stored and shown byte for byte
	mustReject                // outside it: 400
	either                    // stored byte for byte, or 400
)

// text is a value for a string field. raw, when set, is put between the JSON quotes
// verbatim (escapes, invalid UTF-8); value is what a correct server stores.
type text struct {
	name  string
	value string
	raw   string
}

func (x text) json() string {
	if x.raw != "" {
		return `"` + x.raw + `"`
	}
	b, _ := json.Marshal(x.value)
	return string(b)
}

// oddText is Unicode that is valid and printable but easy to mangle.
var oddText = []text{
	{name: "right-to-left override", value: "abc\u202Edcba\u202C"},
	{name: "zero-width joiner family", value: "👨\u200D👩\u200D👧\u200D👦"},
	{name: "combining marks", value: "e\u0301\u0302\u0303\u0304\u0305"},
	{name: "4-byte characters", value: "𝄞𠜎😀🀄"},
	{name: "byte order mark", value: "\uFEFFbom"},
	{name: "zero-width space", value: "a\u200Bb"},
	{name: "line and paragraph separators", value: "a\u2028b\u2029c"},
	{name: "noncharacters", value: "x\uFFFEy\U0010FFFF"},
	{name: "replacement character", value: "\uFFFD"},
	{name: "html and quotes", value: `<script>alert("x")</script>&'\/`},
	{name: "cjk", value: "注文-東京"},
	{name: "arabic digits", value: "طلب-١٢٣"},
	{name: "json escapes", raw: `\u00e9\ud83d\ude00\/`, value: "é😀/"},
	{name: "only combining marks", value: strings.Repeat("\u0301", 10)},
}

// invalidText can never be stored as sent: JSON strings are UTF-8, and PostgreSQL text
// holds no invalid UTF-8. Replacing it (with U+FFFD) would alter it silently.
var invalidText = []text{
	{name: "invalid UTF-8 bytes", raw: "ab\xff\xfecd", value: "ab\xff\xfecd"},
	{name: "lone surrogate escape", raw: `ab\ud800cd`, value: "ab\xed\xa0\x80cd"}, // unrepresentable in UTF-8
	{name: "overlong encoding", raw: "ab\xc0\xafcd", value: "ab\xc0\xafcd"},
	{name: "encoded surrogate", raw: "ab\xed\xa0\x80cd", value: "ab\xed\xa0\x80cd"},
	{name: "NUL", value: "a\x00b"},
	{name: "escape sequence", value: "\x1b[31mred"},
	{name: "C1 control", value: "a\u0085b"},
	{name: "DEL", value: "a\x7fb"},
}

// fieldCases are the values for a field of at most maxChars characters; freeText fields
// (reason) may be blank and hold tabs and newlines.
func fieldCases(maxChars int, freeText bool) []struct {
	text
	verdict
} {
	var out []struct {
		text
		verdict
	}
	add := func(x text, v verdict) {
		out = append(out, struct {
			text
			verdict
		}{x, v})
	}
	for _, x := range oddText {
		add(x, mustAccept)
	}
	for _, x := range invalidText {
		add(x, mustReject)
	}
	add(text{name: "max length in 4-byte characters", value: strings.Repeat("😀", maxChars)}, mustAccept)
	add(text{name: "max length in combining marks", value: "a" + strings.Repeat("\u0301", maxChars-1)}, mustAccept)
	add(text{name: "one character too long", value: strings.Repeat("😀", maxChars+1)}, mustReject)
	add(text{name: "ideographic space only", value: "\u3000"}, map[bool]verdict{false: mustReject, true: mustAccept}[freeText])
	add(text{name: "blank", value: "   "}, map[bool]verdict{false: mustReject, true: mustAccept}[freeText])
	add(text{name: "tab and newline", value: "a\tb\nc\r\n"}, map[bool]verdict{false: mustReject, true: mustAccept}[freeText])
	return out
}

func testOddUnicode(t *testing.T, svc *service) {
	base := svc.URL

	t.Run("customer_id", func(t *testing.T) {
		for _, c := range fieldCases(64, false) {
			body := `{"customer_id":` + c.json() + `,"currency":"EUR"}`
			r := mustSend(t, http.MethodPost, base+"/orders", []byte(body))
			stats.inputs.Add(1)
			where := "customer_id " + c.name
			if !accepted(t, where, r, c.verdict, http.StatusCreated) {
				continue
			}
			o := decodeOrder(t, where, r.Body)
			same(t, where+": in the answer", o.CustomerId, c.value)
			same(t, where+": in GET", getOrder(t, base+"/orders/"+o.Id.String()).CustomerId, c.value)
			same(t, where+": in the OrderPlaced event", eventData(t, base, o.Id.String(), 0, "customer_id"), c.value)
			// The list filter finds it by exact value.
			lr := mustSend(t, http.MethodGet, base+"/orders?customer_id="+url.QueryEscape(c.value), nil)
			var page api.OrderPage
			if expect(t, lr.Status == http.StatusOK, "%s: list by it: %s", where, lr) && json.Unmarshal(lr.Body, &page) == nil {
				found := false
				for _, it := range page.Items {
					found = found || it.Id == o.Id
					same(t, where+": in the list", it.CustomerId, c.value)
				}
				expect(t, found, "%s: GET /orders?customer_id= does not find the order", where)
			}
		}
	})

	t.Run("currency", func(t *testing.T) {
		for _, c := range []struct {
			text
			verdict
		}{
			{text{name: "EUR", value: "EUR"}, mustAccept},
			{text{name: "Cyrillic E", value: "ЕUR"}, mustReject},
			{text{name: "fullwidth", value: "ＥＵＲ"}, mustReject},
			{text{name: "lower case", value: "eur"}, mustReject},
			{text{name: "combining mark", value: "E\u0301UR"}, mustReject},
			{text{name: "zero-width joiner", value: "EUR\u200D"}, mustReject},
			{text{name: "NUL", value: "EU\x00"}, mustReject},
			{text{name: "invalid UTF-8", raw: "EU\xff", value: "EU\xff"}, mustReject},
			{text{name: "four letters", value: "EURO"}, mustReject},
		} {
			r := mustSend(t, http.MethodPost, base+"/orders", []byte(`{"customer_id":"c","currency":`+c.json()+`}`))
			stats.inputs.Add(1)
			where := "currency " + c.name
			if accepted(t, where, r, c.verdict, http.StatusCreated) {
				o := decodeOrder(t, where, r.Body)
				same(t, where, o.Currency, c.value)
				same(t, where+": in the OrderPlaced event", eventData(t, base, o.Id.String(), 0, "currency"), c.value)
			}
		}
	})

	t.Run("sku", func(t *testing.T) {
		id := placeOrder(t, svc, "unicode-sku")
		for _, c := range fieldCases(64, false) {
			body := `{"sku":` + c.json() + `,"quantity":1,"unit_price_cents":5}`
			r := mustSend(t, http.MethodPost, base+"/orders/"+id+"/lines", []byte(body))
			stats.inputs.Add(1)
			where := "sku " + c.name
			if !accepted(t, where, r, c.verdict, http.StatusOK) {
				continue
			}
			o := decodeOrder(t, where, r.Body)
			n := len(o.Lines)
			if !expect(t, n > 0, "%s: the answer has no lines", where) {
				continue
			}
			same(t, where+": in the answer", o.Lines[n-1].Sku, c.value)
			if g := getOrder(t, base+"/orders/"+id); g != nil && expect(t, len(g.Lines) == n, "%s: GET shows %d lines, the answer %d", where, len(g.Lines), n) {
				same(t, where+": in GET", g.Lines[n-1].Sku, c.value)
			}
			same(t, where+": in the OrderLineAdded event", eventData(t, base, id, int(o.Version)-1, "sku"), c.value)
		}
	})

	t.Run("reason", func(t *testing.T) {
		for _, c := range fieldCases(500, true) {
			id := placeOrder(t, svc, "unicode-reason")
			r := mustSend(t, http.MethodPost, base+"/orders/"+id+"/cancel", []byte(`{"reason":`+c.json()+`}`))
			stats.inputs.Add(1)
			where := "reason " + c.name
			if accepted(t, where, r, c.verdict, http.StatusOK) {
				same(t, where+": in the OrderCancelled event", eventData(t, base, id, 1, "reason"), c.value)
			}
		}
	})

	t.Run("X-Correlation-ID", func(t *testing.T) {
		// Header values travel as bytes; control characters other than tab cannot be
		// sent (net/http refuses them on both ends), and outer spaces are not part of
		// a value.
		cases := []struct {
			text
			verdict
		}{
			{text{name: "printable ASCII", value: `id "with" spaces & symbols <>{}|\^~`}, mustAccept},
			{text{name: "max length in 4-byte characters", value: strings.Repeat("😀", 128)}, mustAccept},
			{text{name: "one character too long", value: strings.Repeat("😀", 129)}, mustReject},
			{text{name: "invalid UTF-8", value: "id-\xff\xfe"}, mustReject},
			{text{name: "C1 control", value: "id-\u0085"}, mustReject},
			{text{name: "tab", value: "id\tx"}, mustReject},
		}
		for _, x := range oddText {
			if x.raw == "" {
				cases = append(cases, struct {
					text
					verdict
				}{x, mustAccept})
			}
		}
		for _, c := range cases {
			r := mustSend(t, http.MethodPost, base+"/orders", []byte(`{"customer_id":"corr","currency":"EUR"}`), "X-Correlation-ID", c.value)
			stats.inputs.Add(1)
			where := "X-Correlation-ID " + c.name
			if !accepted(t, where, r, c.verdict, http.StatusCreated) {
				continue
			}
			o := decodeOrder(t, where, r.Body)
			same(t, where+": in the event's metadata", eventField(t, base, o.Id.String(), 0, "metadata", "correlation_id"), c.value)
		}
	})

	t.Run("Idempotency-Key", func(t *testing.T) {
		var printable strings.Builder
		for b := byte(0x21); b <= 0x7e; b++ {
			printable.WriteByte(b)
		}
		for _, c := range []struct {
			text
			verdict
		}{
			{text{name: "every printable ASCII character", value: printable.String() + " inner space"}, mustAccept},
			{text{name: "255 characters", value: strings.Repeat("k", 255)}, mustAccept},
			{text{name: "256 characters", value: strings.Repeat("k", 256)}, mustReject},
			{text{name: "Cyrillic", value: "ключ"}, mustReject},
			{text{name: "accented", value: "clé"}, mustReject},
			{text{name: "tab", value: "a\tb"}, mustReject},
			{text{name: "invalid UTF-8", value: "key\xff"}, mustReject},
			{text{name: "emoji", value: "key😀"}, mustReject},
		} {
			where := "Idempotency-Key " + c.name
			key := c.value // each test has a database of its own: unique enough
			body := []byte(`{"customer_id":"idem","currency":"EUR"}`)
			r := mustSend(t, http.MethodPost, base+"/orders", body, "Idempotency-Key", key)
			stats.inputs.Add(1)
			if !accepted(t, where, r, c.verdict, http.StatusCreated) {
				continue
			}
			again := mustSend(t, http.MethodPost, base+"/orders", body, "Idempotency-Key", key)
			expect(t, again.Status == r.Status && string(again.Body) == string(r.Body) && again.Header.Get("Idempotency-Replayed") == "true",
				"%s: the repeat is not the replayed first answer: %s, first %s", where, again, r)
			other := mustSend(t, http.MethodPost, base+"/orders", body, "Idempotency-Key", key[:len(key)-1]+"#")
			expect(t, other.Status == http.StatusCreated && other.Header.Get("Idempotency-Replayed") == "" && string(other.Body) != string(r.Body),
				"%s: a key differing in its last character got a replay: %s", where, other)
		}
	})
}

// accepted checks r against the verdict and says whether it was a success.
func accepted(t *testing.T, where string, r *response, v verdict, success int) bool {
	t.Helper()
	code := checkAnswer(t, where, r)
	switch r.Status {
	case success:
		return expect(t, v != mustReject, "%s: accepted (%d), want 400: %s", where, r.Status, r)
	case http.StatusBadRequest:
		expect(t, v != mustAccept, "%s: rejected, want it accepted: %s", where, r)
		expect(t, code == "validation_failed", "%s: code %q, want validation_failed", where, code)
	default:
		expect(t, false, "%s: %s, want %d or 400", where, r, success)
	}
	return false
}

func decodeOrder(t *testing.T, where string, body []byte) api.Order {
	t.Helper()
	var o api.Order
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("%s: %v: %s", where, err, body)
	}
	return o
}

// same compares a stored value with what was sent, byte for byte.
func same(t *testing.T, where, got, want string) {
	t.Helper()
	expect(t, got == want, "%s: stored %q (% x), sent %q (% x)", where, got, []byte(got), want, []byte(want))
}

// eventData returns a string member of the data of the order's i-th event.
func eventData(t *testing.T, base, id string, i int, member string) string {
	t.Helper()
	return eventField(t, base, id, i, "data", member)
}

func eventField(t *testing.T, base, id string, i int, part, member string) string {
	t.Helper()
	r := mustSend(t, http.MethodGet, base+"/orders/"+id+"/events", nil)
	var list api.EventList
	if !expect(t, r.Status == http.StatusOK && json.Unmarshal(r.Body, &list) == nil, "events of %s: %s", id, r) {
		return ""
	}
	if !expect(t, i < len(list.Items), "events of %s: %d events, want event %d", id, len(list.Items), i) {
		return ""
	}
	m := list.Items[i].Data
	if part == "metadata" {
		m = list.Items[i].Metadata
	}
	s, _ := m[member].(string)
	return s
}
