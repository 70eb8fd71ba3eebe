package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/api"
	"github.com/example/orders/infrastructure/logging"
)

type requestIDKey struct{}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID takes X-Request-ID from the client when it is a sane token, or makes one,
// echoes it in the response, and puts it on every log line of the request.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !saneToken(id, 128) {
				id = uuid.Must(uuid.NewV7()).String()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			ctx := context.WithValue(c.Request().Context(), requestIDKey{}, id)
			ctx = logging.With(ctx, slog.String("request_id", id))
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

func saneToken(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && !strings.ContainsRune("-_.:", r) {
			return false
		}
	}
	return true
}

// accessLog writes one line per request, after the error handler has set the status.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			if !log.Enabled(req.Context(), slog.LevelInfo) {
				return nil // building the line's attributes is most of its cost
			}
			log.InfoContext(req.Context(), "request", "method", clientMethod(c), "path", req.URL.Path, "route", c.Path(),
				"status", res.Status, "bytes", res.Size, "duration_ms", float64(time.Since(start).Microseconds())/1000)
			return nil
		}
	}
}

// recoverPanics turns a panic into a 500 problem; the stack goes to the log only.
func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if e, ok := r.(error); ok && errors.Is(e, http.ErrAbortHandler) {
						panic(r)
					}
					log.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}

// timeout bounds every request; the database calls and retry waits inherit the deadline.
// The event stream is exempt: it lives until the client, the server or its own
// lifetime (FeedConfig.MaxLifetime) ends it.
func timeout(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if d <= 0 || c.Path() == streamRoute {
				return next(c)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// validateRequests checks every request against openapi.yaml with kin-openapi and
// reports all failures at once, each naming its field. It validates against the route
// that operationRules found (which answered 404 and 405 already), so the contract's
// router runs once per request.
func validateRequests() echo.MiddlewareFunc {
	opts := &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			route, ok := c.Get(routeKey).(*routers.Route)
			if !ok {
				return next(c)
			}
			params, _ := c.Get(pathParamsKey).(map[string]string)
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
			fields := fieldErrors(err)
			return badRequest(fieldSummary(fields), fields...)
		}
	}
}

// fieldErrors flattens kin-openapi's errors into one entry per offending field: a
// parameter by its name, a body field by its JSON path (lines.0.sku). It matches types
// directly rather than with errors.As, which would skip past the RequestError that
// says which parameter an inner error belongs to.
func fieldErrors(err error) []api.FieldError {
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
		case *duplicateKeyError:
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
