package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/example/orders/api"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
)

// commandRequest is what every command endpoint shares, whatever the aggregate:
// preconditions, idempotency and the metadata that goes into the events.
type commandRequest struct {
	operation      string // the operationId, part of the idempotency fingerprint
	path           string // for problem instances and the fingerprint
	ifMatch        *string
	idempotencyKey *string
	correlationID  *string
	body           any // the decoded body, fingerprinted in canonical form
	successStatus  int
	location       bool // the success response carries Location (a created resource)
	// existing is the address of the resource a create makes, when it is known before
	// the command runs (a derived id): a conflict saying that it already exists
	// (kit.ConflictError.Exists) answers 409 with this Location.
	existing string
	prefer   *string
}

// existingAt is a command's error with the address of the resource it found already
// there; problemFor sends it as Location.
type existingAt struct {
	error
	location string
}

func (e *existingAt) Unwrap() error { return e.error }

// locate adds the request's existing address to a conflict of an existing resource.
func locate(r commandRequest, err error) error {
	var conflict *kit.ConflictError
	if r.existing != "" && errors.As(err, &conflict) && conflict.Exists {
		return &existingAt{error: err, location: r.existing}
	}
	return err
}

// minimal reports whether the request prefers return=minimal (RFC 7240): a 204 with
// ETag, Location and Preference-Applied, and no body.
func (r commandRequest) minimal() bool {
	return r.prefer != nil && prefersMinimal(*r.prefer)
}

// prefersMinimal parses a Prefer header value: comma-separated preferences, each a
// token with an optional =value and ;parameters; return=minimal is the one it looks for.
func prefersMinimal(header string) bool {
	for len(header) > 0 {
		var pref string
		pref, header, _ = strings.Cut(header, ",")
		pref, _, _ = strings.Cut(pref, ";")
		name, value, _ := strings.Cut(pref, "=")
		if strings.EqualFold(strings.TrimSpace(name), "return") &&
			strings.EqualFold(strings.Trim(strings.TrimSpace(value), `"`), "minimal") {
			return true
		}
	}
	return false
}

// presenter turns an aggregate's state into its JSON representation and its address
// (for Location).
type presenter[S any] func(v appkit.Versioned[S]) (body any, location string)

// runCommand is the part of every command endpoint after decoding: headers into
// options, the use case, and the response, rendered after the transaction from the
// outcome, the same way whether this request ran the command or an idempotent repeat
// replayed it. Its result satisfies every command's generated response interface.
func runCommand[S any](ctx context.Context, r commandRequest, present presenter[S],
	run func(context.Context, appkit.CommandOptions) (appkit.CommandResult[S], error)) (storedResponse, error) {
	ctx, opts, err := prepare(ctx, r)
	if err != nil {
		return storedResponse{}, err
	}
	res, err := run(ctx, opts)
	if err != nil && !res.Replayed {
		return storedResponse{}, locate(r, err)
	}
	if err != nil {
		// A kept refusal: rendered here rather than by the error handler, so that the
		// repeat says it is one.
		resp, encErr := encodeProblem(problemFor(locate(r, err), r.path))
		return storedResponse{resp: resp, replayed: true}, encErr
	}
	resp, err := renderSuccess(r, present, res.View)
	return storedResponse{resp: resp, replayed: res.Replayed}, err
}

// prepare turns the shared headers into command options and a context with metadata.
func prepare(ctx context.Context, r commandRequest) (context.Context, appkit.CommandOptions, error) {
	expected, err := parseIfMatch(r.ifMatch)
	if err != nil {
		return ctx, appkit.CommandOptions{}, err
	}
	opts := appkit.CommandOptions{ExpectedVersions: expected}
	if r.idempotencyKey != nil {
		fp, err := fingerprint(r)
		if err != nil {
			return ctx, opts, err
		}
		opts.Idempotency = &appkit.Idempotency{Key: *r.idempotencyKey, Fingerprint: fp}
	}
	requestID := requestIDFrom(ctx)
	md := appkit.Metadata{CorrelationID: requestID, CausationID: requestID, IssuedBy: "http " + r.operation}
	if r.correlationID != nil && *r.correlationID != "" {
		if !printableText(*r.correlationID) {
			return ctx, opts, badRequest("X-Correlation-ID must be printable UTF-8 text.",
				api.FieldError{Field: "X-Correlation-ID", Message: "must be printable UTF-8 text without control characters"})
		}
		md.CorrelationID = *r.correlationID
	}
	return appkit.WithMetadata(ctx, md), opts, nil
}

// fingerprint identifies a request for idempotency: the operation, the resource, the
// precondition and the body re-encoded, so whitespace and key order do not matter.
func fingerprint(r commandRequest) (string, error) {
	body, err := json.Marshal(r.body)
	if err != nil {
		return "", err
	}
	ifMatch := ""
	if r.ifMatch != nil {
		ifMatch = *r.ifMatch
	}
	sum := sha256.New()
	for _, part := range []string{r.operation, r.path, ifMatch, string(body)} {
		sum.Write([]byte(part))
		sum.Write([]byte{0})
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// renderSuccess is the response to a command that succeeded: the representation, its
// version as ETag, and Location for a created resource.
func renderSuccess[S any](r commandRequest, present presenter[S], v appkit.Versioned[S]) (response, error) {
	if r.minimal() {
		_, location := present(v) // the representation is not encoded: that is the saving
		return response{Status: http.StatusNoContent,
			Headers: map[string]string{"ETag": etag(v.Version), "Location": location, "Preference-Applied": "return=minimal"}}, nil
	}
	representation, location := present(v)
	body, err := json.Marshal(representation)
	if err != nil {
		return response{}, err
	}
	headers := map[string]string{"ETag": etag(v.Version), eventPositionHeader: strconv.FormatInt(v.Position, 10)}
	if r.location {
		headers["Location"] = location
	}
	return response{Status: r.successStatus, ContentType: "application/json", Headers: headers, Body: append(body, '\n')}, nil
}

// printableText reports whether s is valid UTF-8 without control characters: text that
// PostgreSQL stores (no NUL, no invalid bytes) and that logs show as it is.
func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
