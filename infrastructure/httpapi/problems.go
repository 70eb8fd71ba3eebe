package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/example/orders/api"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
)

const problemContentType = "application/problem+json"

// retryAfterSeconds is what a 503 asks clients to wait.
const retryAfterSeconds = 2

// problem is an api.Problem with the headers that go with it.
type problem struct {
	body   api.Problem
	header http.Header
}

// problemFor is the one place where errors become HTTP statuses. It looks only at
// typed errors, never at message text, and never puts an internal error's text into
// the response.
func problemFor(err error, instance string) problem {
	p := problem{body: api.Problem{Instance: instance}, header: http.Header{}}
	set := func(status int, code, title, detail string) problem {
		p.body.Status, p.body.Detail = status, detail
		p.body.Type, p.body.Title = problemTypeOf(code, title)
		p.body.Code = &code
		return p
	}

	var existing *existingAt
	if errors.As(err, &existing) {
		p.header.Set("Location", existing.location)
	}

	var invalid *kit.ValidationError
	var badRequest *requestError
	var notFound *kit.NotFoundError
	var conflict *kit.ConflictError
	var versionConflict *appkit.VersionConflictError
	var tooLarge *http.MaxBytesError
	var httpErr *echo.HTTPError
	var typeErr *json.UnmarshalTypeError
	var unauthenticated *authError
	switch {
	case errors.As(err, &unauthenticated):
		p.header.Set(echo.HeaderWWWAuthenticate, unauthenticated.challenge())
		detail := "This operation needs a bearer token: send Authorization: Bearer <token>."
		if unauthenticated.invalidToken {
			detail = "The bearer token is invalid, expired or not for this service."
		}
		return set(http.StatusUnauthorized, "unauthorized", "Unauthorized", detail)
	case errors.Is(err, appkit.ErrUnauthenticated):
		p.header.Set(echo.HeaderWWWAuthenticate, "Bearer")
		return set(http.StatusUnauthorized, "unauthorized", "Unauthorized", "This operation needs a bearer token: send Authorization: Bearer <token>.")
	case errors.Is(err, appkit.ErrForbidden):
		return set(http.StatusForbidden, "forbidden", "Forbidden", "The token's subject and scopes do not allow this; nothing was changed.")
	case errors.As(err, &invalid):
		fields := make([]api.FieldError, len(invalid.Fields))
		for i, f := range invalid.Fields {
			fields[i] = api.FieldError{Field: f.Field, Message: f.Message}
		}
		p.body.Errors = &fields
		return set(http.StatusBadRequest, "validation_failed", "Invalid request", fieldSummary(fields))
	case errors.As(err, &badRequest):
		if len(badRequest.fields) > 0 {
			p.body.Errors = &badRequest.fields
		}
		if badRequest.status == http.StatusServiceUnavailable || badRequest.status == http.StatusTooManyRequests {
			p.header.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		}
		return set(badRequest.status, badRequest.code, badRequest.title, badRequest.detail)
	case errors.As(err, &tooLarge), errors.Is(err, echo.ErrStatusRequestEntityTooLarge):
		return set(http.StatusRequestEntityTooLarge, "payload_too_large", "Request body too large", "The request body exceeds the size limit.")
	case errors.As(err, &notFound):
		return set(http.StatusNotFound, notFound.Resource+"_not_found", capitalize(notFound.Resource+" not found"),
			"No "+notFound.Resource+" exists at this address (or not at the requested version or time).")
	case errors.As(err, &conflict):
		return set(http.StatusConflict, conflict.Code, "Conflict with the "+conflict.Resource+"'s state", sentence(conflict.Message))
	case errors.As(err, &versionConflict) && !versionConflict.Retried:
		current := versionConflict.Actual
		p.body.CurrentVersion = &current
		p.header.Set("ETag", etag(current))
		return set(http.StatusPreconditionFailed, "version_mismatch", "Version mismatch",
			"If-Match does not name the "+versionConflict.Resource+"'s current version "+strconv.FormatInt(current, 10)+"; nothing was changed.")
	case errors.As(err, &versionConflict):
		return set(http.StatusConflict, "concurrency_conflict", "Concurrent modification",
			"The "+versionConflict.Resource+" kept changing while this command ran and the retries ran out; nothing was changed. Try again.")
	case errors.Is(err, appkit.ErrIdempotencyKeyReused):
		return set(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency key reused",
			"This Idempotency-Key was first used for a different request.")
	case errors.Is(err, appkit.ErrReadModelBehind):
		p.header.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		return set(http.StatusServiceUnavailable, "read_model_behind", "Read model behind",
			"This read model has not reached the requested min_position yet ("+err.Error()+"). Retry after a moment.")
	case errors.Is(err, appkit.ErrOutcomeUnknown):
		p.header.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		return set(http.StatusServiceUnavailable, "outcome_unknown", "Outcome unknown",
			"The database stopped answering while this command was being committed; it may or may not have been recorded. Retry with the same Idempotency-Key, or read the resource first.")
	case errors.Is(err, appkit.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		p.header.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		return set(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
			"The database could not be reached in time; nothing was changed. Retry after a moment.")
	case errors.As(err, &typeErr):
		fields := []api.FieldError{{Field: typeErr.Field, Message: "must be a JSON " + jsonKind(typeErr.Type.Kind())}}
		p.body.Errors = &fields
		return set(http.StatusBadRequest, "validation_failed", "Invalid request", fieldSummary(fields))
	case errors.As(err, &httpErr) && httpErr.Code < 500:
		code := strings.ToLower(strings.ReplaceAll(http.StatusText(httpErr.Code), " ", "_"))
		detail := http.StatusText(httpErr.Code) + "."
		if msg, ok := httpErr.Message.(string); ok && msg != "" {
			detail = msg
		}
		return set(httpErr.Code, code, http.StatusText(httpErr.Code), detail)
	}
	return set(http.StatusInternalServerError, "internal_error", "Internal error",
		"Something went wrong on our side; it has been logged under this request's X-Request-ID.")
}

// sentence capitalises a domain message and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return capitalize(s) + "."
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func fieldSummary(fields []api.FieldError) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Field + " " + f.Message
	}
	return "Invalid request: " + strings.Join(parts, "; ") + "."
}

// requestError is an answer the transport decides itself (request validation, headers,
// readiness).
type requestError struct {
	status              int
	code, title, detail string
	fields              []api.FieldError
}

func (e *requestError) Error() string { return e.detail }

func badRequest(detail string, fields ...api.FieldError) *requestError {
	return &requestError{status: http.StatusBadRequest, code: "validation_failed", title: "Invalid request", detail: detail, fields: fields}
}

// encodeProblem renders a problem as the body and headers of a response.
func encodeProblem(p problem) (response, error) {
	body, err := json.Marshal(p.body)
	if err != nil {
		return response{}, err
	}
	headers := map[string]string{}
	for k := range p.header {
		headers[k] = p.header.Get(k)
	}
	return response{Status: p.body.Status, ContentType: problemContentType, Headers: headers, Body: append(body, '\n')}, nil
}

// errorHandler is echo's HTTPErrorHandler: every error a handler or middleware returns
// ends here and leaves as a problem document. 5xx are logged with the cause; the client
// sees only the generic text.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		req := c.Request()
		p := problemFor(err, req.URL.Path)
		switch {
		case p.body.Status == http.StatusServiceUnavailable:
			log.WarnContext(req.Context(), "request failed", "status", p.body.Status, "error", err.Error())
		case p.body.Status >= 500:
			log.ErrorContext(req.Context(), "request failed", "status", p.body.Status, "error", err.Error())
		}
		resp, encErr := encodeProblem(p)
		if encErr != nil {
			log.ErrorContext(req.Context(), "encode problem", "error", encErr.Error())
			_ = c.NoContent(http.StatusInternalServerError)
			return
		}
		_ = storedResponse{resp: resp}.write(c.Response())
	}
}

// jsonKind names the JSON type a Go kind is decoded from.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}
