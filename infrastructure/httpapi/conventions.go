package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
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
// a body takes only the declared media types (415) up to the size limit (413), and is
// read here; a query string that cannot be decoded is 400 where the operation has
// query parameters.
//
// The operation is the one echo routed the request to (its route path and method, in
// a table compiled at start): the contract is not routed a second time.
func operationRules(ops *operations, limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			op := ops.byRoute[routeKey{req.Method, c.Path()}]
			var params []string
			if op != nil {
				params = pathValues(c, req)
			}
			if op == nil || params == nil && len(op.pathParams) > 0 {
				// echo matched no operation (its 404 or 405), or matched one with an
				// empty path segment or, for a last parameter, a "/" in it, which
				// is not the contract's path.
				if allow, ok := ops.allow[c.Path()]; ok && op == nil && wholeSegments(c.Path(), echo.GetPath(req)) {
					c.Response().Header().Set(echo.HeaderAllow, allow)
					return echo.NewHTTPError(http.StatusMethodNotAllowed, "This path does not support "+clientMethod(c)+".")
				}
				return echo.NewHTTPError(http.StatusNotFound, "No operation has this path.")
			}
			r := &routed{op: op, params: params}
			c.Set(routedKey, r)
			if op.hasQuery && !decodableQuery(req.URL.RawQuery) {
				return badRequest("The query string cannot be decoded.",
					api.FieldError{Field: "query", Message: "is not a valid URL-encoded query string"})
			}
			if fields := unprintableParameters(op, params, req.URL.RawQuery); len(fields) > 0 {
				return badRequest(fieldSummary(fields), fields...)
			}
			if op.body == nil {
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
				mt, err := mediaType(req.Header.Get(echo.HeaderContentType))
				if err != nil || !slices.Contains(op.body.mediaTypes, mt) {
					return &requestError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
						title: "Unsupported media type", detail: "Send the request body as " + strings.Join(op.body.mediaTypes, " or ") + "."}
				}
			}
			if err := limitBody(c, limit); err != nil {
				return err
			}
			if req.ContentLength != 0 && req.Body != nil {
				raw, err := io.ReadAll(req.Body)
				if err != nil {
					return bodyReadError(err)
				}
				r.body, r.read = raw, true
			}
			return next(c)
		}
	}
}

// pathValues are the values of the route's path parameters as the contract sees them:
// unescaped, never empty, without "/"; nil if one is not. echo matched the escaped path
// when the request has one that differs from the default escaping (RawPath), and
// the decoded path otherwise.
func pathValues(c echo.Context, req *http.Request) []string {
	values := c.ParamValues()
	n := len(c.ParamNames())
	if n == 0 {
		return []string{}
	}
	out := make([]string, n)
	for i, v := range values[:n] {
		if v == "" || strings.Contains(v, "/") {
			return nil
		}
		if req.URL.RawPath != "" {
			if unescaped, err := url.PathUnescape(v); err == nil {
				v = unescaped
			}
		}
		out[i] = v
	}
	return out
}

// mediaType is the media type of a Content-Type, as mime.ParseMediaType reads it.
func mediaType(contentType string) (string, error) {
	if contentType == echo.MIMEApplicationJSON {
		return contentType, nil // the usual case, without parsing
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return mt, err
}

// wholeSegments reports whether path has route's segments with every parameter's
// non-empty, as the contract's path templates match (echo also matches an empty one,
// and a last parameter holding "/").
func wholeSegments(route, path string) bool {
	if strings.Count(route, "/") != strings.Count(path, "/") {
		return false
	}
	for route != "" {
		var r, p string
		r, route, _ = strings.Cut(route, "/")
		p, path, _ = strings.Cut(path, "/")
		if strings.HasPrefix(r, ":") && p == "" {
			return false
		}
	}
	return true
}

// decodableQuery reports whether url.ParseQuery decodes the query without an error:
// no ";" and every "%" followed by two hex digits.
func decodableQuery(raw string) bool {
	if !strings.ContainsAny(raw, "%;") {
		return true
	}
	_, err := url.ParseQuery(raw)
	return err == nil
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
func unprintableParameters(op *operation, pathValues []string, rawQuery string) []api.FieldError {
	var out []api.FieldError
	for _, p := range op.params {
		if p.in != openapi3.ParameterInPath {
			continue
		}
		if v := pathValues[p.pathIndex]; !printable(v) {
			out = append(out, api.FieldError{Field: p.name, Message: unprintableParameterMessage})
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
