package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// strictJSONBody decodes a request body for validation like kin-openapi's own JSON
// decoder, but refuses anything after the first JSON value: `{...} {...}` is not one
// request, and the handler would otherwise act on the first half of it.
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
	return value, nil
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
