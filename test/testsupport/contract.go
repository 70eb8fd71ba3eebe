package testsupport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// ContractHeader marks a request for the contract check; the Contract transport
// removes it before sending. Its values:
//
//   - ExpectInvalid: the request deliberately breaks the contract; it is not
//     validated, but the response still is.
//   - ExpectRule: the request is valid per the contract but breaks a rule the schema
//     cannot express, written in the operation's description; a 4xx is expected.
const ContractHeader = "X-Contract-Check"

const (
	ExpectInvalid = "invalid-request"
	ExpectRule    = "spec-inexpressible-rule"
)

// ProblemType is one entry of the contract's x-problem-types catalogue.
type ProblemType struct {
	Code   string `json:"code"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
}

// Contract is an http.RoundTripper that checks every request and response against
// openapi.yaml with kin-openapi and fails the round trip (an error from the client)
// when they disagree:
//
//   - a request not marked ExpectInvalid must be valid (bodies on operations
//     without one included);
//   - the response must have a status the operation declares (`default` only for
//     500), and its headers and body must match that response's schema;
//   - a valid request answered 400, 413 or 415 (the answers about a request's form)
//     must be marked ExpectRule; 404, 409, 412 and 422 depend on the state and are
//     not the form's fault;
//   - an unknown path must get the NoSuchRoute response (404), an unknown method
//     MethodNotAllowed (405, with Allow);
//   - a problem document's code must be in x-problem-types with its type, title and
//     status; every response carries X-Request-ID.
//
// HEAD is checked as the GET it stands for, without a body.
type Contract struct {
	Base     http.RoundTripper
	doc      *openapi3.T
	router   routers.Router
	problems map[string]ProblemType
}

var formats sync.Once

// LoadContract reads openapi.yaml at the module root.
func LoadContract() (*openapi3.T, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(root, "openapi.yaml"))
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is invalid: %w", err)
	}
	return doc, nil
}

// ProblemTypes returns the x-problem-types catalogue of doc, by code.
func ProblemTypes(doc *openapi3.T) (map[string]ProblemType, error) {
	raw, err := json.Marshal(doc.Extensions["x-problem-types"])
	if err != nil {
		return nil, err
	}
	var list []ProblemType
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("openapi.yaml: x-problem-types missing or malformed: %v", err)
	}
	out := map[string]ProblemType{}
	for _, p := range list {
		if _, dup := out[p.Code]; dup {
			return nil, fmt.Errorf("openapi.yaml: x-problem-types lists %q twice", p.Code)
		}
		out[p.Code] = p
	}
	return out, nil
}

// NewContract returns the checking transport over base (http.DefaultTransport if nil).
func NewContract(base http.RoundTripper) (*Contract, error) {
	formats.Do(func() {
		// As the server does: format uuid is checked, RFC 9562's form (UUIDv7 included).
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	})
	doc, err := LoadContract()
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	problems, err := ProblemTypes(doc)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Contract{Base: base, doc: doc, router: router, problems: problems}, nil
}

// MustContract is NewContract for package-level clients; it panics on error.
func MustContract(base http.RoundTripper) *Contract {
	c, err := NewContract(base)
	if err != nil {
		panic(err)
	}
	return c
}

func (c *Contract) RoundTrip(req *http.Request) (*http.Response, error) {
	mark := req.Header.Get(ContractHeader)
	if mark != "" {
		req = req.Clone(req.Context())
		req.Header.Del(ContractHeader)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		chunked := req.ContentLength <= 0 && len(reqBody) > 0
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if chunked {
			req.ContentLength = -1 // keep sending it chunked, as the test meant
		}
	}

	// The route as the contract sees it; HEAD is the GET it stands for.
	probe := req.Clone(context.Background())
	if probe.Method == http.MethodHead {
		probe.Method = http.MethodGet
	}
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, pathParams, routeErr := c.router.FindRoute(probe)

	var input *openapi3filter.RequestValidationInput
	valid := false
	if routeErr == nil {
		input = &openapi3filter.RequestValidationInput{Request: probe, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				RejectWhenRequestBodyNotSpecified: true, SkipSettingDefaults: true}}
		err := malformed(probe, reqBody)
		if err == nil {
			err = openapi3filter.ValidateRequest(req.Context(), input)
		}
		switch {
		case err != nil && mark != ExpectInvalid:
			return nil, fmt.Errorf("contract: %s %s is invalid per openapi.yaml but not marked %s: %s: %w",
				req.Method, req.URL.RequestURI(), ContractHeader, ExpectInvalid, err)
		case err == nil && mark == ExpectInvalid:
			return nil, fmt.Errorf("contract: %s %s is marked %s but openapi.yaml accepts it (mark it %s if a rule the schema cannot express refuses it)",
				req.Method, req.URL.RequestURI(), ExpectInvalid, ExpectRule)
		}
		valid = err == nil
	}

	resp, err := c.Base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		// A stream does not end: its status and headers are checked now, and its
		// messages as the caller reads them (the first sseCheckedBytes).
		if err := c.checkResponse(req, mark, valid, route, routeErr, input, resp, nil); err != nil {
			_ = resp.Body.Close()
			return nil, fmt.Errorf("contract: %s %s answered %d: %w", req.Method, req.URL.RequestURI(), resp.StatusCode, err)
		}
		var item *openapi3.Schema
		if ref := c.doc.Components.Schemas["FeedEvent"]; ref != nil {
			item = ref.Value
		}
		resp.Body = &sseChecker{ReadCloser: resp.Body, where: req.Method + " " + req.URL.RequestURI(), item: item}
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil // the caller's read sees the same failure as the bytes read so far
	}
	if err := c.checkResponse(req, mark, valid, route, routeErr, input, resp, body); err != nil {
		return nil, fmt.Errorf("contract: %s %s answered %d: %w\nresponse body: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, err, truncate(body))
	}
	return resp, nil
}

func (c *Contract) checkResponse(req *http.Request, mark string, valid bool, route *routers.Route, routeErr error,
	input *openapi3filter.RequestValidationInput, resp *http.Response, body []byte) error {
	if resp.Header.Get("X-Request-ID") == "" {
		return errors.New("no X-Request-ID header")
	}
	head := req.Method == http.MethodHead
	if routeErr != nil {
		name, want := "NoSuchRoute", http.StatusNotFound
		if errors.Is(routeErr, routers.ErrMethodNotAllowed) {
			name, want = "MethodNotAllowed", http.StatusMethodNotAllowed
		}
		if resp.StatusCode != want {
			return fmt.Errorf("a request outside the contract (%v) must get %d (%s)", routeErr, want, name)
		}
		if err := c.checkComponentResponse(name, resp, body, head); err != nil {
			return err
		}
		return c.checkProblem(resp, body, head)
	}

	op := route.Operation
	if op.Responses.Status(resp.StatusCode) == nil && !(resp.StatusCode == http.StatusInternalServerError && op.Responses.Default() != nil) {
		return fmt.Errorf("status %d is not declared by %s", resp.StatusCode, op.OperationID)
	}
	if valid && mark != ExpectRule {
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			return fmt.Errorf("a request valid per openapi.yaml was refused; if a rule the schema cannot express refuses it, "+
				"write the rule in %s's description and mark the request %s=%s", op.OperationID, ContractHeader, ExpectRule)
		}
	}
	stream := body == nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: input, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: head || stream}}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		return fmt.Errorf("response does not match %s's declaration: %w", op.OperationID, err)
	}
	return c.checkProblem(resp, body, head)
}

// checkComponentResponse validates a response against components/responses/name.
func (c *Contract) checkComponentResponse(name string, resp *http.Response, body []byte, head bool) error {
	ref := c.doc.Components.Responses[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("openapi.yaml has no components/responses/%s", name)
	}
	for h, hr := range ref.Value.Headers {
		if hr.Value.Required && resp.Header.Get(h) == "" {
			return fmt.Errorf("%s requires header %s", name, h)
		}
		if v := resp.Header.Get(h); v != "" && hr.Value.Schema != nil {
			if err := hr.Value.Schema.Value.VisitJSON(v); err != nil {
				return fmt.Errorf("header %s: %w", h, err)
			}
		}
	}
	if head {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	content := ref.Value.Content.Get(mt)
	if content == nil {
		return fmt.Errorf("%s has no content of type %q", name, mt)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return content.Schema.Value.VisitJSON(v)
}

// checkProblem checks a problem document's code, type, title and status against the
// catalogue.
func (c *Contract) checkProblem(resp *http.Response, body []byte, head bool) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/problem+json" || head {
		if resp.StatusCode >= 400 && !head {
			return fmt.Errorf("an error answered as %q, not application/problem+json", mt)
		}
		return nil
	}
	var p struct {
		Type, Title, Code string
		Status            int
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("problem document: %w", err)
	}
	want, ok := c.problems[p.Code]
	switch {
	case !ok:
		return fmt.Errorf("problem code %q is not in openapi.yaml's x-problem-types", p.Code)
	case p.Type != want.Type || p.Title != want.Title:
		return fmt.Errorf("problem code %q sent with type %q and title %q; x-problem-types says %q and %q", p.Code, p.Type, p.Title, want.Type, want.Title)
	case p.Status != resp.StatusCode || want.Status != resp.StatusCode:
		return fmt.Errorf("problem code %q with status %d in the body and %d on the response; x-problem-types says %d", p.Code, p.Status, resp.StatusCode, want.Status)
	}
	return nil
}

// malformed catches what kin-openapi's lenient decoding lets through: JSON that is
// not exactly one value (RFC 8259), and text that is not UTF-8 in the body, the query
// or a header.
func malformed(req *http.Request, body []byte) error {
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); len(body) > 0 && mt == "application/json" && !json.Valid(body) {
		return errors.New("the body is not one JSON value")
	}
	if !utf8.Valid(body) {
		return errors.New("the body is not UTF-8")
	}
	for _, vs := range req.URL.Query() {
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return errors.New("a query parameter is not UTF-8")
			}
		}
	}
	for name, vs := range req.Header {
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return fmt.Errorf("header %s is not UTF-8", name)
			}
		}
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return strings.TrimSpace(string(b))
}

// sseCheckedBytes is how much of an event stream the contract check reads: enough for
// many messages, bounded so that a long stream costs nothing more.
const sseCheckedBytes = 1 << 20

// sseChecker passes an event stream through and checks the first sseCheckedBytes as
// Server-Sent Events: every line is a comment (":"), or a field id (digits), event,
// data (one JSON object) or retry; a read after a malformed line fails.
type sseChecker struct {
	io.ReadCloser
	where   string
	item    *openapi3.Schema // what data must be
	seen    int
	partial []byte
	err     error
}

func (s *sseChecker) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.ReadCloser.Read(p)
	if s.seen < sseCheckedBytes {
		s.seen += n
		s.partial = append(s.partial, p[:n]...)
		for {
			i := bytes.IndexByte(s.partial, '\n')
			if i < 0 {
				break
			}
			line := string(s.partial[:i])
			s.partial = s.partial[i+1:]
			if lerr := checkSSELine(line, s.item); lerr != nil {
				s.err = fmt.Errorf("contract: %s: event stream: %w: %q", s.where, lerr, truncate([]byte(line)))
				return n, nil
			}
		}
		if s.seen >= sseCheckedBytes {
			s.partial = nil
		}
	}
	return n, err
}

func checkSSELine(line string, item *openapi3.Schema) error {
	if line == "" || strings.HasPrefix(line, ":") {
		return nil
	}
	field, value, _ := strings.Cut(line, ":")
	value = strings.TrimPrefix(value, " ")
	switch field {
	case "id":
		for _, r := range value {
			if r < '0' || r > '9' {
				return errors.New("id is not a position")
			}
		}
		if value == "" {
			return errors.New("empty id")
		}
	case "event":
		if value == "" {
			return errors.New("empty event type")
		}
	case "data":
		var v map[string]any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			return fmt.Errorf("data is not one JSON object: %w", err)
		}
		if item != nil {
			if err := item.VisitJSON(v); err != nil {
				return fmt.Errorf("data is not a FeedEvent: %w", err)
			}
		}
	case "retry":
	default:
		return fmt.Errorf("unknown field %q", field)
	}
	return nil
}
