package httpapi

// The request path as it was before the contract's operations were compiled
// (operations.go, validation.go): kin-openapi's router found the operation a second
// time, after echo, and kin-openapi's validator interpreted the schemas on every
// request, with the body decoded for it and again by the handler. Kept here, in a test,
// as the reference the compiled validation must agree with, answer for answer
// (TestCompiledValidationMatchesKinOpenAPI, FuzzCompiledValidationMatchesKinOpenAPI):
// the same status, the same problem document (every field error and its message), the
// same request handed to the handler.

import (
	"bytes"
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
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/api"
)

// kinRouteKey holds the contract's route of the request, found by kinOperationRules,
// and kinPathParamsKey its path parameters (unescaped).
const (
	kinRouteKey      = "orders.kin_route"
	kinPathParamsKey = "orders.kin_path_params"
)

var kinFormats sync.Once // kin-openapi keeps formats and body decoders in globals

// kinReference is the chain of the old request path, with the same error handler and
// HEAD handling, ending in handler.
func kinReference(doc *openapi3.T, limit int64, handler api.ServerInterface) (*echo.Echo, error) {
	kinFormats.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
		openapi3filter.RegisterBodyDecoder("application/json", kinStrictJSONBody)
	})
	doc.Servers = nil
	rules, err := kinOperationRules(doc, limit)
	if err != nil {
		return nil, err
	}
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(discardLog)
	e.Pre(headAsGet())
	e.Use(rules, kinValidateRequests())
	api.RegisterHandlers(e, handler)
	headRoutes(e)
	return e, nil
}

// operationRules applies the contract's rules that come before request validation,
// per operation: an unknown path is 404 and an unsupported method 405 with Allow; an
// operation without a request body refuses content (400) and never reads it; one with
// a body takes only the declared media types (415) up to the size limit (413); a query
// string that cannot be decoded is 400 where the operation has query parameters; and
// a JSON number with a zero fraction is accepted where an integer is expected.
func kinOperationRules(doc *openapi3.T, limit int64) (echo.MiddlewareFunc, error) {
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
				c.Response().Header().Set(echo.HeaderAllow, kinAllowedMethods(router, req))
				return echo.NewHTTPError(http.StatusMethodNotAllowed, "This path does not support "+clientMethod(c)+".")
			case err != nil:
				return echo.NewHTTPError(http.StatusNotFound, "No operation has this path.")
			}
			c.Set(kinRouteKey, route)
			// gorilla/mux matches the escaped path; the validation wants the values.
			for k, v := range params {
				if unescaped, err := url.PathUnescape(v); err == nil {
					params[k] = unescaped
				}
			}
			c.Set(kinPathParamsKey, params)
			op := route.Operation
			if kinHasQueryParameters(route) {
				if _, err := url.ParseQuery(req.URL.RawQuery); err != nil {
					return badRequest("The query string cannot be decoded.",
						api.FieldError{Field: "query", Message: "is not a valid URL-encoded query string"})
				}
			}
			if fields := kinUnprintableParameters(route, params, req.URL.RawQuery); len(fields) > 0 {
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
						title: "Unsupported media type", detail: "Send the request body as " + strings.Join(kinMediaTypes(op), " or ") + "."}
				}
			}
			if err := limitBody(c, limit); err != nil {
				return err
			}
			if err := kinIntegralNumbers(req); err != nil {
				return err
			}
			return next(c)
		}
	}, nil
}

// unprintableParameters names every path parameter and every query parameter (the
// contract's or not) whose value, decoded, holds a control character (C0, DEL, C1) or
// is not valid UTF-8. No parameter of the contract is meant to carry either, whatever
// its schema says, and PostgreSQL refuses both in text (a NUL is SQLSTATE 22021), so
// they are refused here, once for every operation, rather than by each schema's
// pattern or by the database as a 500. A query parameter whose own name is unprintable
// is reported as "query".
func kinUnprintableParameters(route *routers.Route, pathParams map[string]string, rawQuery string) []api.FieldError {
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

func kinHasQueryParameters(route *routers.Route) bool {
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				return true
			}
		}
	}
	return false
}

func kinMediaTypes(op *openapi3.Operation) []string {
	var out []string
	for mt := range op.RequestBody.Value.Content {
		out = append(out, mt)
	}
	return out
}

// allowedMethods lists the methods the contract has for the request's path, HEAD
// with GET.
func kinAllowedMethods(router routers.Router, req *http.Request) string {
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

// integralNumbers rewrites JSON numbers that have a fraction or exponent but an
// integral value (2.0, 1e2) as integers, so that a client whose JSON library writes
// every number as a float is understood: JSON Schema's integer type accepts them, and
// the generated handlers decode into Go integers, which would not. The body is
// rewritten only when it has such a number; anything else is left to validation.
func kinIntegralNumbers(req *http.Request) error {
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
	// The one change to the old code: it checked dec.More() here, which is false before
	// a '}' or ']', so {"quantity":2.0}} lost its second brace to the rewrite and was
	// accepted, where {"quantity":2}} is refused. Both are refused now.
	if err := dec.Decode(&v); err != nil || len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return nil // not one JSON value: validation says why
	}
	changed := false
	v = kinRewriteNumbers(v, &changed)
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

func kinRewriteNumbers(v any, changed *bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = kinRewriteNumbers(e, changed)
		}
	case []any:
		for i, e := range t {
			t[i] = kinRewriteNumbers(e, changed)
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

// validateRequests checks every request against openapi.yaml with kin-openapi and
// reports all failures at once, each naming its field. It validates against the route
// that operationRules found (which answered 404 and 405 already), so the contract's
// router runs once per request.
func kinValidateRequests() echo.MiddlewareFunc {
	opts := &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			route, ok := c.Get(kinRouteKey).(*routers.Route)
			if !ok {
				return next(c)
			}
			params, _ := c.Get(kinPathParamsKey).(map[string]string)
			err := openapi3filter.ValidateRequest(c.Request().Context(), &openapi3filter.RequestValidationInput{
				Request: c.Request(), PathParams: params, Route: route, Options: opts})
			if err == nil {
				return next(c)
			}
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return tooLarge
			}
			var multi openapi3.MultiError
			var reqErr *openapi3filter.RequestError
			if !errors.As(err, &multi) && !errors.As(err, &reqErr) {
				return err
			}
			fields := kinFieldErrors(err)
			return badRequest(fieldSummary(fields), fields...)
		}
	}
}

// fieldErrors flattens kin-openapi's errors into one entry per offending field: a
// parameter by its name, a body field by its JSON path (lines.0.sku). It matches types
// directly rather than with errors.As, which would skip past the RequestError that
// says which parameter an inner error belongs to.
func kinFieldErrors(err error) []api.FieldError {
	var out []api.FieldError
	var walk func(err error, field string)
	walk = func(err error, field string) {
		switch e := err.(type) { //nolint:errorlint // deliberately no errors.As: see above
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner, field)
			}
		case *openapi3filter.RequestError:
			f := "body"
			if e.Parameter != nil {
				f = e.Parameter.Name
			}
			if e.Err == nil {
				out = append(out, api.FieldError{Field: f, Message: e.Reason})
				return
			}
			walk(e.Err, f)
		case *openapi3.SchemaError:
			f := field
			if ptr := e.JSONPointer(); field == "body" && len(ptr) > 0 {
				f = strings.Join(ptr, ".")
			}
			msg := e.Reason
			if e.SchemaField == "format" && e.Schema != nil {
				msg = "must be a valid " + e.Schema.Format
			}
			// A pattern says what it means in x-pattern-message, not as a regexp.
			if e.SchemaField == "pattern" && e.Schema != nil {
				if m, ok := e.Schema.Extensions["x-pattern-message"].(string); ok {
					msg = m
				}
			}
			// kin-openapi reports an unknown property on the object, not the property.
			if _, rest, ok := strings.Cut(e.Reason, `property "`); ok && strings.HasSuffix(rest, `" is unsupported`) {
				name := strings.TrimSuffix(rest, `" is unsupported`)
				if f == "body" {
					f = name
				} else {
					f += "." + name
				}
				msg = "is not a known property"
			}
			out = append(out, api.FieldError{Field: f, Message: msg})
		case *kinDuplicateKeyError:
			f := e.field
			if f == "" {
				f = "body"
			}
			out = append(out, api.FieldError{Field: f, Message: "occurs more than once in its object: JSON object keys must be unique"})
		case *openapi3filter.ParseError:
			msg := "cannot be parsed: " + e.Error()
			if field == "body" {
				msg = "is not valid JSON: " + e.Error()
			}
			out = append(out, api.FieldError{Field: field, Message: msg})
		default:
			// Anything else (a body that could not be read, a timeout) says nothing
			// useful to the client and may name our internals.
			out = append(out, api.FieldError{Field: field, Message: "could not be read"})
		}
	}
	walk(err, "request")
	return out
}

// strictJSONBody decodes a request body for validation like kin-openapi's own JSON
// decoder, but refuses anything after the first JSON value (`{...} {...}` is not one
// request, and the handler would otherwise act on the first half of it) and an object
// with a key twice.
func kinStrictJSONBody(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
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
		return nil, &kinDuplicateKeyError{field: field}
	}
	return value, nil
}

// kinDuplicateKeyError is a JSON object with a key twice. encoding/json keeps the last
// and other parsers the first, so such a body means different things to the service
// and to whatever checked it on the way (a gateway, a signature, an audit log).
type kinDuplicateKeyError struct{ field string }

func (e *kinDuplicateKeyError) Error() string { return "duplicate JSON object key " + e.field }
