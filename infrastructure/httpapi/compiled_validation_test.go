package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

var discardLog = slog.New(slog.DiscardHandler)

// recorded answers every operation with the request the generated handler bound (its
// parameters and body), as JSON: what the handler would have been given.
func recorded() api.ServerInterface {
	return api.NewStrictHandler(nil, []api.StrictMiddlewareFunc{func(_ api.StrictHandlerFunc, op string) api.StrictHandlerFunc {
		return func(ctx echo.Context, request any) (any, error) {
			return nil, ctx.JSON(http.StatusOK, map[string]any{"operation": op, "request": request})
		}
	}})
}

// chains are the service's handler chain (New) and the old one (kinReference), both
// ending in recorded.
type chains struct{ compiled, reference *echo.Echo }

func newChains(tb testing.TB) chains {
	tb.Helper()
	compiled, err := New(application.App{}, alwaysReady{}, nil, Config{BodyLimit: 4096, RequestTimeout: 10 * time.Second}, discardLog)
	if err != nil {
		tb.Fatal(err)
	}
	api.RegisterHandlers(compiled, recorded())
	headRoutes(compiled)
	doc, err := api.GetSpec()
	if err != nil {
		tb.Fatal(err)
	}
	reference, err := kinReference(doc, 4096, recorded())
	if err != nil {
		tb.Fatal(err)
	}
	return chains{compiled: compiled, reference: reference}
}

// probe is one request.
type probe struct {
	method, target string
	header         http.Header
	body           []byte
	chunked        bool
}

func (p probe) request() *http.Request {
	req := httptest.NewRequest(p.method, p.target, nil)
	req.Header = p.header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set(echo.HeaderXRequestID, "probe")
	switch {
	case p.chunked:
		req.Body, req.ContentLength, req.TransferEncoding = io.NopCloser(bytes.NewReader(p.body)), -1, []string{"chunked"}
	case len(p.body) > 0:
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(p.body)), int64(len(p.body))
	}
	return req
}

func (p probe) String() string {
	return fmt.Sprintf("%s %s %v %q chunked=%v", p.method, p.target, p.header, p.body, p.chunked)
}

// compare sends p to both chains and says how their answers differ, or "".
func (c chains) compare(p probe) string {
	answer := func(e *echo.Echo) string {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, p.request())
		return fmt.Sprintf("%d Content-Type=%q Allow=%q\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Allow"), rec.Body)
	}
	got, want := answer(c.compiled), answer(c.reference)
	if got == want {
		return ""
	}
	return fmt.Sprintf("%s\n compiled:  %s\n kin-openapi: %s", p, got, want)
}

// TestCompiledValidationMatchesKinOpenAPI: for thousands of requests made from the
// contract (every operation; each parameter and body member given valid, hostile and
// malformed values; bodies that are not JSON, not one value, with a key twice, nested
// too deep; other methods and paths), the compiled validation answers exactly as
// kin-openapi did: the same status and problem document, and the handler is given
// the same request.
func TestCompiledValidationMatchesKinOpenAPI(t *testing.T) {
	c := newChains(t)
	doc, err := api.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	probes := contractProbes(doc)
	if len(probes) < 2000 {
		t.Fatalf("only %d probes: is the walk of the contract broken?", len(probes))
	}
	failed := 0
	for _, p := range probes {
		if diff := c.compare(p); diff != "" {
			t.Error(diff)
			if failed++; failed > 20 {
				t.Fatal("too many differences")
			}
		}
	}
	t.Logf("%d requests answered alike", len(probes))
}

// FuzzCompiledValidationMatchesKinOpenAPI is the test above on fuzzed requests.
//
//	go test -run '^$' -fuzz '^FuzzCompiledValidationMatchesKinOpenAPI$' -fuzztime 60s ./infrastructure/httpapi/
func FuzzCompiledValidationMatchesKinOpenAPI(f *testing.F) {
	c := newChains(f)
	doc, err := api.GetSpec()
	if err != nil {
		f.Fatal(err)
	}
	for i, p := range contractProbes(doc) {
		if i%7 == 0 { // a sample: the test above sends them all
			var h strings.Builder
			for k, vs := range p.header {
				for _, v := range vs {
					h.WriteString(k + ": " + v + "\n")
				}
			}
			f.Add(p.method, p.target, h.String(), p.body, p.chunked)
		}
	}
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte, chunked bool) {
		token := func(r rune) bool { return r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) }
		if method == "" || strings.ContainsFunc(method, token) || !strings.HasPrefix(target, "/") ||
			strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return
		}
		if _, err := url.ParseRequestURI(target); err != nil {
			return
		}
		h := http.Header{}
		for _, line := range strings.Split(headers, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if ok && name != "" && !strings.ContainsAny(name, " \t\r\n:") && !strings.ContainsAny(value, "\r\n\x00") {
				h.Add(name, strings.TrimSpace(value))
			}
		}
		if diff := c.compare(probe{method: method, target: target, header: h, body: body, chunked: chunked}); diff != "" {
			t.Fatal(diff)
		}
	})
}

// Values tried in every parameter (URL-encoded for the query and the path).
var probeParameterValues = []string{
	"", "0", "1", "-1", "2", "20", "2.0", "1e3", "abc", "100", "101", "1000", "1001", "99999999999999999999",
	"9223372036854775807", "-9223372036854775808", "9223372036854775808", "x y", strings.Repeat("x", 201),
	"pending", "PENDING", "shipped", "confirmed", "5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11", "5F2C7C1E-8B1A-4E8E-9D3C-2A6F0B7D4E11",
	"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "5f2c7c1e-8b1a-9e8e-9d3c-2a6f0b7d4e11",
	"{5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11}", "2025-01-15T10:31:00Z", "2025-02-30T10:31:00Z", "2025-01-15T10:31:60Z",
	"2025-01-15T10:31:00", "2025-01-15t10:31:00z", "0001-01-01T00:00:00Z", "OrderPlaced", "OrderPlaced,OrderConfirmed", "a,,b", ",",
	"order", "Order", "2s", "10000ms", "11s", "eyJw", "abc.def", "true", "é", "\u202e", "cust-42", " cust ", "1043",
}

// Values tried in every header parameter.
var probeHeaderValues = []string{
	"", `"3"`, "3", `W/"3"`, "*", `"1", "2"`, `"1",`, "x", strings.Repeat("k", 256), strings.Repeat(`"1",`, 300), "schlüssel",
	"\xff\xfe", "return=minimal", "1043", "abc", "req-7d1c9e2a", "a\tb",
}

// JSON values tried in every body member, and as the body.
var probeJSONValues = []string{
	`null`, `true`, `false`, `0`, `-1`, `1`, `1.5`, `2.0`, `1e2`, `1E400`, `-0`, `-0.0`, `99999999999999999999999`, `1000`, `1001`,
	`100000000`, `100000001`, `2147483648`, `9007199254740993.0`, `""`, `" "`, `"x"`, `"EUR"`, `"eur"`, `"a\u0000b"`, `"a\u0007b"`,
	`"\u00a0"`, `"😀"`, `"\ud83d\ude00"`, `"` + strings.Repeat("é", 64) + `"`, `"` + strings.Repeat("x", 65) + `"`,
	`"` + strings.Repeat("x", 501) + `"`, `"line\nbreak\ttab"`, `[]`, `{}`, `[1]`, `{"a":1}`, `"5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11"`,
	`"00000000-0000-0000-0000-000000000000"`, `"DHL"`, `"2"`,
}

// Whole bodies tried on every operation that takes one.
var probeBodies = []string{
	``, `   `, `{`, `{"a":1} {}`, `{} x`, "\xef\xbb\xbf{}", "{}\u00a0", "{}\u0085", `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`,
	`{"a":[1,{"b":1,"b":2}]}`, `{"a":"\ud800"}`, `{"a":"\udc00x"}`, "{\"a\":\"\xff\"}", `{"a":1,}`, `{"a" 1}`, `[1,2`, `01`, `{"a":01}`,
	`{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\t\"}",
	strings.Repeat(`[`, 600) + strings.Repeat(`]`, 600), strings.Repeat(`{"a":`, 600) + `1` + strings.Repeat(`}`, 600),
	strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001),
}

// contractProbes are requests made from doc: for every operation, valid ones and ones
// that break each of its parameters and body members in turn; other methods; paths
// that are not the contract's.
func contractProbes(doc *openapi3.T) []probe {
	var out []probe
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			var params openapi3.Parameters
			params = append(params, item.Parameters...)
			params = append(params, op.Parameters...)
			target := func(pathValue func(name string) string, query string) string {
				t := path
				for _, p := range params {
					if p.Value.In == openapi3.ParameterInPath {
						t = strings.ReplaceAll(t, "{"+p.Value.Name+"}", pathValue(p.Value.Name))
					}
				}
				if query != "" {
					t += "?" + query
				}
				return t
			}
			valid := func(name string) string {
				for _, p := range params {
					if p.Value.Name == name {
						return exampleParameter(p.Value)
					}
				}
				return "x"
			}
			validBody := ""
			var bodySchema *openapi3.Schema
			if op.RequestBody != nil {
				bodySchema = op.RequestBody.Value.Content.Get("application/json").Schema.Value
				validBody = exampleJSON(bodySchema)
			}
			base := probe{method: method, target: target(valid, ""), header: http.Header{}}
			withBody := func(p probe, body string, contentType string) probe {
				p.body = []byte(body)
				if contentType != "" {
					p.header = p.header.Clone()
					p.header.Set("Content-Type", contentType)
				}
				return p
			}
			if op.RequestBody != nil {
				base = withBody(base, validBody, "application/json")
			}
			out = append(out, base)
			if method == http.MethodGet {
				head := base
				head.method = http.MethodHead
				out = append(out, head)
			}
			// every query parameter present and valid, then each parameter broken
			var all []string
			for _, p := range params {
				if p.Value.In == openapi3.ParameterInQuery {
					all = append(all, url.QueryEscape(p.Value.Name)+"="+url.QueryEscape(exampleParameter(p.Value)))
				}
			}
			if len(all) > 0 {
				p := base
				p.target = target(valid, strings.Join(all, "&"))
				out = append(out, p)
			}
			for _, p := range params {
				name := p.Value.Name
				for _, v := range probeParameterValues {
					switch p.Value.In {
					case openapi3.ParameterInPath:
						q := base
						q.target = target(func(n string) string {
							if n == name {
								return url.PathEscape(v)
							}
							return valid(n)
						}, "")
						out = append(out, q)
					case openapi3.ParameterInQuery:
						q := base
						q.target = target(valid, url.QueryEscape(name)+"="+url.QueryEscape(v))
						out = append(out, q)
					}
				}
				switch p.Value.In {
				case openapi3.ParameterInQuery:
					for _, raw := range []string{name + "=0&" + name + "=101", name + "=&" + name + "=2", name + "=%zz", name, name + "=1;x=2", "x=%00&" + name + "=1"} {
						q := base
						q.target = target(valid, raw)
						out = append(out, q)
					}
				case openapi3.ParameterInHeader:
					for _, v := range append(slices.Clone(probeHeaderValues), exampleParameter(p.Value)) {
						q := base
						q.header = base.header.Clone()
						q.header.Set(name, v)
						out = append(out, q)
					}
					q := base
					q.header = base.header.Clone()
					q.header.Add(name, `"1"`)
					q.header.Add(name, `"2"`)
					out = append(out, q)
				}
			}
			// bodies
			if bodySchema != nil {
				for _, ct := range []string{"Application/JSON", "application/json; charset=utf-8", "text/plain", " application/json", "application/json;"} {
					out = append(out, withBody(base, validBody, ct))
				}
				chunked := base
				chunked.chunked = true
				out = append(out, chunked, withBody(chunked, "", ""), withBody(chunked, strings.Repeat(" ", 5000), ""))
				for _, b := range append(slices.Clone(probeBodies), probeJSONValues...) {
					out = append(out, withBody(base, b, ""))
				}
				for _, b := range bodyMutations(bodySchema) {
					out = append(out, withBody(base, b, ""))
				}
			} else {
				out = append(out, withBody(base, `{}`, "application/json"), withBody(base, "x", "text/plain"))
			}
		}
		// methods the path does not have
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodHead} {
			if item.GetOperation(method) == nil && (method != http.MethodHead || item.Get == nil) {
				t := strings.NewReplacer("{id}", "5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11").Replace(path)
				out = append(out, probe{method: method, target: t})
			}
		}
	}
	for _, t := range []string{"/", "/nope", "/orders/", "/orders//lines", "/orders/5f2c7c1e-8b1a-4e8e-9d3c-2a6f0b7d4e11/", "/orders/a/b/lines",
		"/orders/%2F/events", "/orders/a%2Fb", "/Orders", "/orders/x/refunds", "//orders", "/orders/%7Bx%7D", "/customers/%2525/summary",
		"/customers/a%00b/summary", "/customers/%ff/summary", "/customers/x", "/events/stream/x", "/events/", "/openapi.yaml/x", "/orders?%%%"} {
		out = append(out, probe{method: http.MethodGet, target: t}, probe{method: http.MethodPost, target: t})
	}
	return out
}

// exampleParameter is a valid value of p.
func exampleParameter(p *openapi3.Parameter) string {
	if p.Example != nil {
		switch v := p.Example.(type) {
		case []any:
			var parts []string
			for _, e := range v {
				parts = append(parts, fmt.Sprint(e))
			}
			return strings.Join(parts, ",")
		default:
			return fmt.Sprint(v)
		}
	}
	if p.Schema.Value.Example != nil {
		return fmt.Sprint(p.Schema.Value.Example)
	}
	if len(p.Schema.Value.Enum) > 0 {
		return fmt.Sprint(p.Schema.Value.Enum[0])
	}
	return "x"
}

// exampleJSON is a valid JSON value of s: its example, or its members' examples.
func exampleJSON(s *openapi3.Schema) string {
	if s.Example != nil {
		b, _ := json.Marshal(s.Example)
		return string(b)
	}
	if s.Type.Is(openapi3.TypeObject) {
		obj := map[string]json.RawMessage{}
		for name, p := range s.Properties {
			obj[name] = json.RawMessage(exampleJSON(p.Value))
		}
		b, _ := json.Marshal(obj)
		return string(b)
	}
	if len(s.Enum) > 0 {
		b, _ := json.Marshal(s.Enum[0])
		return string(b)
	}
	switch {
	case s.Type.Is(openapi3.TypeInteger), s.Type.Is(openapi3.TypeNumber):
		return "1"
	case s.Type.Is(openapi3.TypeBoolean):
		return "true"
	case s.Type.Is(openapi3.TypeArray):
		return "[]"
	}
	return `"x"`
}

// bodyMutations are bodies of the object schema s with one member broken in turn:
// absent, given each of probeJSONValues, given twice; and with an unknown member.
func bodyMutations(s *openapi3.Schema) []string {
	valid := map[string]json.RawMessage{}
	for name, p := range s.Properties {
		valid[name] = json.RawMessage(exampleJSON(p.Value))
	}
	encode := func(m map[string]json.RawMessage) string {
		b, _ := json.Marshal(m)
		return string(b)
	}
	var out []string
	for name := range valid {
		without := maps(valid)
		delete(without, name)
		out = append(out, encode(without))
		for _, v := range probeJSONValues {
			m := maps(valid)
			m[name] = json.RawMessage(v)
			out = append(out, encode(m))
		}
		out = append(out, strings.TrimSuffix(encode(valid), "}")+`,"`+name+`":`+string(valid[name])+`}`)
		out = append(out, strings.TrimSuffix(encode(valid), "}")+`,"`+strings.ToUpper(name)+`":`+string(valid[name])+`}`)
	}
	m := maps(valid)
	m["colour"] = json.RawMessage(`"red"`)
	m["zz"] = json.RawMessage(`{"a":[1]}`)
	out = append(out, encode(m), encode(map[string]json.RawMessage{"colour": json.RawMessage(`1`)}))
	all := map[string]json.RawMessage{}
	for name := range valid {
		all[name] = json.RawMessage(`[]`)
	}
	out = append(out, encode(all))
	return out
}

func maps(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
