package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// strictJSONBody decodes a request body for validation like kin-openapi's own JSON
// decoder, but refuses anything after the first JSON value (`{...} {...}` is not one
// request, and the handler would otherwise act on the first half of it) and an object
// with a key twice.
func strictJSONBody(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, err // a body over the limit arrives here as *http.MaxBytesError
	}
	// encoding/json would turn invalid UTF-8 and lone surrogates into U+FFFD, and the
	// request would be stored altered; refuse them instead.
	if !utf8.Valid(raw) || hasLoneSurrogate(raw) {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat,
			Cause: errors.New("the body is not valid UTF-8 (or holds an unpaired surrogate escape)")}
	}
	// What kin-openapi's JSONBodyDecoder does (a Decoder with UseNumber), with the end
	// of the value checked on the same pass.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: err}
	}
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat,
			Cause: errors.New("unexpected data after the JSON value")}
	}
	if field, ok := duplicateKey(raw); ok {
		return nil, &duplicateKeyError{field: field}
	}
	return value, nil
}

// duplicateKeyError is a JSON object with a key twice. encoding/json keeps the last
// and other parsers the first, so such a body means different things to the service
// and to whatever checked it on the way (a gateway, a signature, an audit log).
type duplicateKeyError struct{ field string }

func (e *duplicateKeyError) Error() string { return "duplicate JSON object key " + e.field }

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
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) && raw[i+1] != 'u' {
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
