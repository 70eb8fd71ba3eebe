package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/api"
)

// originalMethodKey holds the method the client sent when headAsGet changed it.
const originalMethodKey = "orders.original_method"

// headAsGet answers HEAD wherever GET is answered (RFC 9110 §9.3.2): the request is
// routed as GET, and net/http, which still sees the original HEAD request, sends the
// status and headers (Content-Length included) without the body.
func headAsGet() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Method != http.MethodHead {
				return next(c)
			}
			c.Set(originalMethodKey, http.MethodHead)
			get := req.Clone(context.WithValue(req.Context(), headRequestKey{}, true))
			get.Method = http.MethodGet
			c.SetRequest(get)
			return next(c)
		}
	}
}

// headRoutes registers HEAD with the handler of every GET route. echo routes the
// client's method; headAsGet makes the middleware (validation included) see GET.
func headRoutes(e *echo.Echo) {
	for _, r := range e.Routes() {
		if r.Method != http.MethodGet {
			continue
		}
		c := e.NewContext(nil, nil)
		e.Router().Find(http.MethodGet, r.Path, c) // ":id" matches itself as a parameter
		e.Add(http.MethodHead, r.Path, c.Handler())
	}
}

// clientMethod is the method the client sent.
func clientMethod(c echo.Context) string {
	if m, ok := c.Get(originalMethodKey).(string); ok {
		return m
	}
	return c.Request().Method
}

// operationRules applies the contract's rules that come before request validation,
// per operation: an unknown path is 404 and an unsupported method 405 with Allow; an
// operation without a request body refuses content (400) and never reads it; one with
// a body takes only the declared media types (415) up to the size limit (413); a query
// string that cannot be decoded is 400 where the operation has query parameters; and
// a JSON number with a zero fraction is accepted where an integer is expected.
func operationRules(doc *openapi3.T, limit int64) (echo.MiddlewareFunc, error) {
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route, params, err := router.FindRoute(req)
			switch {
			case errors.Is(err, routers.ErrMethodNotAllowed):
				c.Response().Header().Set(echo.HeaderAllow, allowedMethods(router, req))
				return echo.NewHTTPError(http.StatusMethodNotAllowed, "This path does not support "+clientMethod(c)+".")
			case err != nil:
				return echo.NewHTTPError(http.StatusNotFound, "No operation has this path.")
			}
			c.Set(routeKey, route)
			// gorilla/mux matches the escaped path; the validation wants the values.
			for k, v := range params {
				if unescaped, err := url.PathUnescape(v); err == nil {
					params[k] = unescaped
				}
			}
			c.Set(pathParamsKey, params)
			op := route.Operation
			if hasQueryParameters(route) {
				if _, err := url.ParseQuery(req.URL.RawQuery); err != nil {
					return badRequest("The query string cannot be decoded.",
						api.FieldError{Field: "query", Message: "is not a valid URL-encoded query string"})
				}
			}
			if fields := unprintableParameters(route, params, req.URL.RawQuery); len(fields) > 0 {
				return badRequest(fieldSummary(fields), fields...)
			}
			if op.RequestBody == nil {
				present, err := hasContent(req)
				if err != nil {
					return err
				}
				if present {
					return badRequest("This operation takes no request body.",
						api.FieldError{Field: "body", Message: "must be absent: this operation takes no request body"})
				}
				return next(c)
			}
			if req.ContentLength != 0 {
				mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
				if err != nil || op.RequestBody.Value.Content.Get(mt) == nil || op.RequestBody.Value.Content[mt] == nil {
					return &requestError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
						title: "Unsupported media type", detail: "Send the request body as " + strings.Join(mediaTypes(op), " or ") + "."}
				}
			}
			if err := limitBody(c, limit); err != nil {
				return err
			}
			if err := integralNumbers(req); err != nil {
				return err
			}
			return next(c)
		}
	}, nil
}

// unprintableParameterMessage is what a parameter with a control character is told.
const unprintableParameterMessage = "must be UTF-8 text without control characters"

// unprintableParameters names every path parameter and every query parameter (the
// contract's or not) whose value, decoded, holds a control character (C0, DEL, C1) or
// is not valid UTF-8. No parameter of the contract is meant to carry either, whatever
// its schema says, and PostgreSQL refuses both in text (a NUL is SQLSTATE 22021), so
// they are refused here, once for every operation, rather than by each schema's
// pattern or by the database as a 500. A query parameter whose own name is unprintable
// is reported as "query".
func unprintableParameters(route *routers.Route, pathParams map[string]string, rawQuery string) []api.FieldError {
	var out []api.FieldError
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value == nil || p.Value.In != openapi3.ParameterInPath {
				continue
			}
			if v, ok := pathParams[p.Value.Name]; ok && !printable(v) {
				out = append(out, api.FieldError{Field: p.Value.Name, Message: unprintableParameterMessage})
			}
		}
	}
	if !strings.Contains(rawQuery, "%") && printable(rawQuery) {
		return out // nothing escaped: decoding cannot make it unprintable
	}
	query, _ := url.ParseQuery(rawQuery) // an undecodable query string is refused above, or ignored
	names := make([]string, 0, len(query))
	for name := range query {
		names = append(names, name)
	}
	slices.Sort(names)
	reportedQuery := false
	for _, name := range names {
		bad := !printable(name)
		for _, v := range query[name] {
			bad = bad || !printable(v)
		}
		switch {
		case !bad:
		case printable(name):
			out = append(out, api.FieldError{Field: name, Message: unprintableParameterMessage})
		case !reportedQuery:
			reportedQuery = true
			out = append(out, api.FieldError{Field: "query", Message: "has a parameter name with a control character or invalid UTF-8"})
		}
	}
	return out
}

// printable reports valid UTF-8 without control characters.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			// Not plain printable ASCII: look at the runes.
			return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
		}
	}
	return true
}

func hasQueryParameters(route *routers.Route) bool {
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				return true
			}
		}
	}
	return false
}

func mediaTypes(op *openapi3.Operation) []string {
	var out []string
	for mt := range op.RequestBody.Value.Content {
		out = append(out, mt)
	}
	return out
}

// allowedMethods lists the methods the contract has for the request's path, HEAD
// with GET.
func allowedMethods(router routers.Router, req *http.Request) string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(req.Context())
		probe.Method = m
		if _, _, err := router.FindRoute(probe); err == nil {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	return strings.Join(allow, ", ")
}

// hasContent reports whether a request carries content, reading at most one byte of
// a body of undeclared length.
func hasContent(req *http.Request) (bool, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
		return false, nil
	}
	if req.ContentLength > 0 {
		return true, nil
	}
	var one [1]byte
	n, err := io.ReadFull(req.Body, one[:])
	if n > 0 {
		return true, nil
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, bodyReadError(err)
	}
	return false, nil
}

// limitBody answers 413 for a declared length over the limit and reads an undeclared
// (chunked) body up to the limit, so that an oversized one is refused before anything
// runs.
func limitBody(c echo.Context, limit int64) error {
	req := c.Request()
	if limit <= 0 || req.Body == nil {
		return nil
	}
	if req.ContentLength > limit {
		return &http.MaxBytesError{Limit: limit}
	}
	if req.ContentLength < 0 {
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, limit))
		if err != nil {
			return bodyReadError(err)
		}
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		return nil
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
	return nil
}

// integralNumbers rewrites JSON numbers that have a fraction or exponent but an
// integral value (2.0, 1e2) as integers, so that a client whose JSON library writes
// every number as a float is understood: JSON Schema's integer type accepts them, and
// the generated handlers decode into Go integers, which would not. The body is
// rewritten only when it has such a number; anything else is left to validation.
func integralNumbers(req *http.Request) error {
	if req.ContentLength == 0 || req.Body == nil {
		return nil
	}
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		return bodyReadError(err)
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	// Decoding would turn invalid UTF-8 into U+FFFD, and a key given twice into one:
	// such a body is left for the validation to refuse.
	if !bytes.ContainsAny(raw, ".eE") || !utf8.Valid(raw) || hasLoneSurrogate(raw) {
		return nil
	}
	if _, dup := duplicateKey(raw); dup {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil // not one JSON value: validation says why
	}
	changed := false
	v = rewriteNumbers(v, &changed)
	if !changed {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil
	}
	req.Body, req.ContentLength = io.NopCloser(&buf), int64(buf.Len())
	req.Header.Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return nil
}

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
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			return t
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return t
		}
		*changed = true
		return json.Number(strconv.FormatInt(int64(f), 10))
	}
	return v
}

// bodyReadError is the answer to a body that could not be read: 413 over the limit,
// otherwise 400 (a client too slow or gone); the cause says nothing useful to the
// client.
func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tooLarge
	}
	return badRequest("The request body could not be read.", api.FieldError{Field: "body", Message: "could not be read"})
}
