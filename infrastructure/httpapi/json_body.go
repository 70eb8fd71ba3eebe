package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/example/orders/api"
)

// A request body is parsed once, into the generic value JSON Schema talks about
// (map[string]any, []any, string, json.Number, bool, nil): the compiled validation
// checks that value, and the generated handler binds it (runtime.BindJSONValue, through
// validatedBody) instead of decoding the bytes again.
//
// What the parse refuses, with the field error it answers:
//   - text that is not UTF-8, or an unpaired surrogate escape: encoding/json would turn
//     both into U+FFFD, and the request would be stored altered;
//   - anything that is not exactly one JSON value (`{...} {...}` is not one request);
//   - an object with a key twice: encoding/json keeps the last and other parsers the
//     first, so such a body means different things to the service and to whatever
//     checked it on the way (a gateway, a signature, an audit log).
//
// And a number with a zero fraction or an exponent but an integral value (2.0, 1e2) is
// taken as that integer, so that a client whose JSON library writes every number as a
// float is understood: JSON Schema's integer type accepts them, and the generated
// handlers bind into Go integers, which would not.

// bodyValue is a parsed request body.
type bodyValue struct {
	value any
	// rewritten is set when a number was rewritten as an integer: the bytes then
	// given to a decoder that reads the body itself are the value re-encoded.
	rewritten bool
}

// parseJSONBody parses raw as one JSON value, or says why it is not one, as the field
// error the 400 answer carries. The common case takes one pass of a small parser; a
// body it does not accept is decoded again by encoding/json (slowJSONBody), whose
// verdict and message stand, so that the parser only has to be right about what it
// accepts (FuzzJSONBodyParsers checks it against encoding/json).
func parseJSONBody(raw []byte) (bodyValue, *api.FieldError) {
	if !utf8.Valid(raw) || hasLoneSurrogate(raw) {
		return bodyValue{}, &api.FieldError{Field: "body",
			Message: "is not valid JSON: the body is not valid UTF-8 (or holds an unpaired surrogate escape)"}
	}
	if v, ok := fastJSONBody(raw); ok {
		return v, nil
	}
	return slowJSONBody(raw)
}

// fastJSONBody parses raw, valid UTF-8 without unpaired surrogate escapes, when it is
// one JSON value without a duplicate key.
func fastJSONBody(raw []byte) (bodyValue, bool) {
	p := jsonParser{raw: raw}
	p.skipSpace()
	v, ok := p.value(0)
	if !ok || len(bytes.TrimSpace(raw[p.pos:])) > 0 || p.duplicate {
		return bodyValue{}, false
	}
	return bodyValue{value: v, rewritten: p.rewritten}, true
}

// slowJSONBody decodes raw with encoding/json and applies the same rules; its messages
// are encoding/json's.
func slowJSONBody(raw []byte) (bodyValue, *api.FieldError) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return bodyValue{}, &api.FieldError{Field: "body", Message: "is not valid JSON: " + err.Error()}
	}
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return bodyValue{}, &api.FieldError{Field: "body", Message: "is not valid JSON: unexpected data after the JSON value"}
	}
	if field, ok := duplicateKey(raw); ok {
		if field == "" {
			field = "body"
		}
		return bodyValue{}, &api.FieldError{Field: field, Message: "occurs more than once in its object: JSON object keys must be unique"}
	}
	changed := false
	value = rewriteNumbers(value, &changed)
	return bodyValue{value: value, rewritten: changed}, nil
}

// encodeBody is the body's value as JSON, for a decoder that reads the bytes.
func encodeBody(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rewriteNumbers replaces every integral number written with a fraction or an exponent
// by the integer (within ±2^53, where a float64 holds every integer exactly).
func rewriteNumbers(v any, changed *bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = rewriteNumbers(e, changed)
		}
	case []any:
		for i, e := range t {
			t[i] = rewriteNumbers(e, changed)
		}
	case json.Number:
		if n, ok := integral(string(t)); ok {
			*changed = true
			return n
		}
	}
	return v
}

// integral returns s as an integer literal when s has a fraction or an exponent but an
// integral value within ±2^53.
func integral(s string) (json.Number, bool) {
	if !strings.ContainsAny(s, ".eE") {
		return "", false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return "", false
	}
	return json.Number(strconv.FormatInt(int64(f), 10)), true
}

// maxParseDepth is how deeply the fast parser nests; a deeper body is left to
// encoding/json (whose own limit is 10,000).
const maxParseDepth = 512

// jsonParser is a strict RFC 8259 parser of the JSON value at raw[pos:]. It reports
// only whether it accepted: every refusal is explained by slowJSONBody.
type jsonParser struct {
	raw       []byte
	pos       int
	duplicate bool // an object had a key twice
	rewritten bool // a number was rewritten as an integer
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.raw) {
		switch p.raw[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, bool) {
	if p.pos >= len(p.raw) {
		return nil, false
	}
	switch c := p.raw[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.string()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *jsonParser) literal(word string) bool {
	if !bytes.HasPrefix(p.raw[p.pos:], []byte(word)) {
		return false
	}
	p.pos += len(word)
	return true
}

func (p *jsonParser) object(depth int) (any, bool) {
	if depth > maxParseDepth {
		return nil, false
	}
	p.pos++ // {
	obj := make(map[string]any, 4)
	p.skipSpace()
	if p.pos < len(p.raw) && p.raw[p.pos] == '}' {
		p.pos++
		return obj, true
	}
	for {
		if p.pos >= len(p.raw) || p.raw[p.pos] != '"' {
			return nil, false
		}
		key, ok := p.string()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.pos >= len(p.raw) || p.raw[p.pos] != ':' {
			return nil, false
		}
		p.pos++
		p.skipSpace()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		k := key.(string)
		if _, seen := obj[k]; seen {
			p.duplicate = true
		}
		obj[k] = v
		p.skipSpace()
		if p.pos >= len(p.raw) {
			return nil, false
		}
		switch p.raw[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			return obj, true
		default:
			return nil, false
		}
	}
}

func (p *jsonParser) array(depth int) (any, bool) {
	if depth > maxParseDepth {
		return nil, false
	}
	p.pos++ // [
	arr := []any{}
	p.skipSpace()
	if p.pos < len(p.raw) && p.raw[p.pos] == ']' {
		p.pos++
		return arr, true
	}
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		arr = append(arr, v)
		p.skipSpace()
		if p.pos >= len(p.raw) {
			return nil, false
		}
		switch p.raw[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			return arr, true
		default:
			return nil, false
		}
	}
}

// string parses a string at raw[pos] == '"'. The body is valid UTF-8 without unpaired
// surrogate escapes (parseJSONBody checked), so a string without escapes is its bytes.
func (p *jsonParser) string() (any, bool) {
	start := p.pos + 1
	i := start
	for i < len(p.raw) {
		c := p.raw[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(p.raw[start:i]), true
		case c == '\\':
			return p.escapedString(start)
		case c < 0x20:
			return nil, false
		}
		i++
	}
	return nil, false
}

func (p *jsonParser) escapedString(start int) (any, bool) {
	var b strings.Builder
	i := start
	for i < len(p.raw) {
		c := p.raw[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b.String(), true
		case c < 0x20:
			return nil, false
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(p.raw) {
			return nil, false
		}
		switch e := p.raw[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(p.raw, i+2)
			if !ok {
				return nil, false
			}
			i += 6
			if r >= 0xD800 && r <= 0xDBFF { // a high surrogate: a low one follows (checked)
				low, ok := hex4(p.raw, i+2)
				if !ok || i+1 >= len(p.raw) || p.raw[i] != '\\' || p.raw[i+1] != 'u' || low < 0xDC00 || low > 0xDFFF {
					return nil, false
				}
				r = 0x10000 + (r-0xD800)<<10 + (low - 0xDC00)
				i += 6
			} else if r >= 0xDC00 && r <= 0xDFFF {
				return nil, false
			}
			b.WriteRune(r)
			continue
		default:
			return nil, false
		}
		i += 2
	}
	return nil, false
}

func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number parses -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *jsonParser) number() (any, bool) {
	start := p.pos
	i := p.pos
	digits := func() bool {
		from := i
		for i < len(p.raw) && p.raw[i] >= '0' && p.raw[i] <= '9' {
			i++
		}
		return i > from
	}
	if p.raw[i] == '-' {
		i++
	}
	switch {
	case i < len(p.raw) && p.raw[i] == '0':
		i++
	case i < len(p.raw) && p.raw[i] >= '1' && p.raw[i] <= '9':
		digits()
	default:
		return nil, false
	}
	plain := true
	if i < len(p.raw) && p.raw[i] == '.' {
		plain = false
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(p.raw) && (p.raw[i] == 'e' || p.raw[i] == 'E') {
		plain = false
		i++
		if i < len(p.raw) && (p.raw[i] == '+' || p.raw[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	p.pos = i
	lit := string(p.raw[start:i])
	if !plain {
		if n, ok := integral(lit); ok {
			p.rewritten = true
			return n, true
		}
	}
	return json.Number(lit), true
}

// duplicateKey returns the path (lines.0.sku, as validation names fields) of the first
// key that occurs twice in one object of raw, compared after unescaping ("a" and
// "\u0061" are the same key). It does not check that raw is JSON: it stops, without
// a duplicate, at the first thing that is not.
func duplicateKey(raw []byte) (string, bool) {
	type frame struct {
		keys   map[string]struct{} // nil for an array
		key    string              // the object's current key
		index  int                 // the array's current index
		atKey  bool                // the object's next string is a key
		object bool
	}
	var stack []*frame
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.atKey = true
		} else {
			top.index++
		}
	}
	path := func(last string) string {
		parts := make([]string, 0, len(stack))
		for _, f := range stack[:len(stack)-1] {
			if f.object {
				parts = append(parts, f.key)
			} else {
				parts = append(parts, strconv.Itoa(f.index))
			}
		}
		return strings.Join(append(parts, last), ".")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // the end, or not JSON: validation says why
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{keys: map[string]struct{}{}, atKey: true, object: true})
			case '[':
				stack = append(stack, &frame{})
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top := len(stack) - 1; top >= 0 && stack[top].atKey {
				f := stack[top]
				if _, seen := f.keys[v]; seen {
					return path(v), true
				}
				f.keys[v], f.key, f.atKey = struct{}{}, v, false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// hasLoneSurrogate reports a \uD800-\uDFFF escape that is not a high surrogate
// followed by a low one.
func hasLoneSurrogate(raw []byte) bool {
	escape := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
		return rune(v), err == nil //nolint:gosec // four hex digits: at most 0xFFFF
	}
	for i := bytes.IndexByte(raw, '\\'); i >= 0 && i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] != 'u' {
			i++ // skip an escaped character, e.g. \\
			continue
		}
		r, ok := escape(i)
		if !ok {
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if low, ok := escape(i + 6); ok && low >= 0xDC00 && low <= 0xDFFF {
				i += 11
				continue
			}
			return true
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		}
		i += 5
	}
	return false
}
