package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

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

// validateRequests checks every request against the contract's operation that
// operationRules found, with the checks compiled from openapi.yaml at start, and
// reports all failures at once, each naming its field: the parameters (path, query,
// headers) and the body, parsed once. The parsed body is handed to the generated
// handler (validatedBody), which binds it instead of decoding the bytes again.
func validateRequests() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := routedOf(c)
			if r == nil {
				return next(c)
			}
			req := c.Request()
			var fields []api.FieldError
			if len(r.op.params) > 0 {
				var query url.Values
				if r.op.hasQuery {
					query = c.QueryParams() // the generated handler reads these, defaults included
				}
				for _, p := range r.op.params {
					pathValue := ""
					if p.pathIndex >= 0 {
						pathValue = r.params[p.pathIndex]
					}
					fields = p.check(pathValue, query, req.Header, fields)
				}
			}
			var parsed bodyValue
			if b := r.op.body; b != nil {
				raw := r.body
				if !r.read && req.Body != nil && req.Body != http.NoBody {
					var err error
					if raw, err = io.ReadAll(req.Body); err != nil {
						var tooLarge *http.MaxBytesError
						if errors.As(err, &tooLarge) {
							return tooLarge
						}
						fields = append(fields, api.FieldError{Field: "body", Message: couldNotBeRead})
					}
				}
				switch {
				case len(raw) == 0:
					if b.required {
						fields = append(fields, api.FieldError{Field: "body", Message: couldNotBeRead})
					}
				default:
					v, bad := parseJSONBody(raw)
					if bad != nil {
						fields = append(fields, *bad)
						break
					}
					if fs := b.schema.check(v.value, nil); len(fs) > 0 {
						fields = append(fields, bodyFields(fs)...)
						break
					}
					parsed = v
				}
				if len(fields) == 0 {
					if err := handOver(req, raw, parsed); err != nil {
						return err
					}
				}
			}
			if len(fields) > 0 {
				return badRequest(fieldSummary(fields), fields...)
			}
			return next(c)
		}
	}
}

// validatedBody is a request body that was parsed and validated: the generated
// handler binds its value (runtime.BindJSONValue, member names matched exactly) rather
// than decoding the bytes, which stay for a decoder that wants them.
type validatedBody struct {
	*bytes.Reader
	value any
}

func (validatedBody) Close() error { return nil }

// ValidatedValue is the parsed body.
func (b validatedBody) ValidatedValue() any { return b.value }

// handOver gives the generated handler the validated body: its value, and its bytes
// (the value re-encoded if a number was rewritten, see parseJSONBody). echo's binder
// takes only a Content-Type of exactly application/json (it compares the media type
// case-sensitively), and refuses any other with 415; so that it still does, a body of
// another spelling is handed over as bytes only.
func handOver(req *http.Request, raw []byte, parsed bodyValue) error {
	if len(raw) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
		return nil
	}
	data := raw
	if parsed.rewritten {
		var err error
		if data, err = encodeBody(parsed.value); err != nil {
			return err
		}
		req.Header.Set(echo.HeaderContentLength, strconv.Itoa(len(data)))
	}
	req.ContentLength = int64(len(data))
	body := validatedBody{Reader: bytes.NewReader(data), value: parsed.value}
	if base, _, _ := strings.Cut(req.Header.Get(echo.HeaderContentType), ";"); strings.TrimSpace(base) == echo.MIMEApplicationJSON {
		req.Body = body
	} else {
		req.Body = io.NopCloser(body.Reader)
	}
	return nil
}
