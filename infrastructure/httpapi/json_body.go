package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// strictJSONBody decodes a request body for validation like kin-openapi's own JSON
// decoder, but refuses anything after the first JSON value: `{...} {...}` is not one
// request, and the handler would otherwise act on the first half of it.
func strictJSONBody(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, err // a body over the limit arrives here as *http.MaxBytesError
	}
	value, err := openapi3filter.JSONBodyDecoder(bytes.NewReader(raw), h, schema, enc)
	if err != nil {
		return nil, err
	}
	if end := firstValueEnd(raw); len(bytes.TrimSpace(raw[end:])) > 0 {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat,
			Cause: errors.New("unexpected data after the JSON value")}
	}
	return value, nil
}

// firstValueEnd returns the offset just past the first JSON value in raw.
func firstValueEnd(raw []byte) int {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var skip any
	if err := dec.Decode(&skip); err != nil {
		return len(raw)
	}
	return int(dec.InputOffset())
}
