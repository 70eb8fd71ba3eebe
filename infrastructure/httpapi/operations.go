package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// operation is one operation of the contract, compiled once at start: what the
// transport needs to apply the contract's rules to a request that echo routed to it.
type operation struct {
	id     string // operationId
	method string
	route  string // echo's route path: /orders/:id/lines
	public bool   // security: [] (no token needed)
	// pathParams are the names of the route's path parameters, in the order echo
	// gives their values.
	pathParams []string
	hasQuery   bool          // the operation takes query parameters
	params     []*paramCheck // in the order they are validated and reported
	body       *bodyCheck    // nil: the operation takes no request body
}

// bodyCheck is an operation's request body.
type bodyCheck struct {
	required   bool
	mediaTypes []string
	schema     *schemaCheck
}

// routeKey identifies an operation by echo's route: the method and the route path.
type routeKey struct{ method, route string }

// operations is the contract's operations by echo's route, and the methods each path
// allows (for 405's Allow).
type operations struct {
	byRoute map[routeKey]*operation
	allow   map[string]string // route path → "GET, HEAD, POST"
}

// compileOperations compiles every operation of doc.
func compileOperations(doc *openapi3.T) (*operations, error) {
	ops := &operations{byRoute: map[routeKey]*operation{}, allow: map[string]string{}}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		route, names := echoRoute(path)
		var methods []string
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			methods = append(methods, method)
			if method == http.MethodGet {
				methods = append(methods, http.MethodHead)
			}
			compiled, err := compileOperation(doc, item, op, method, route, names)
			if err != nil {
				return nil, err
			}
			ops.byRoute[routeKey{method, route}] = compiled
		}
		for _, method := range []string{http.MethodOptions, http.MethodTrace, http.MethodConnect} {
			if item.GetOperation(method) != nil {
				return nil, fmt.Errorf("%s %s: the method is not supported", method, path)
			}
		}
		ops.allow[route] = strings.Join(methods, ", ")
	}
	return ops, nil
}

// echoRoute is an OpenAPI path as echo writes it (/orders/{id} → /orders/:id), and the
// names of its parameters.
func echoRoute(path string) (string, []string) {
	var names []string
	segments := strings.Split(path, "/")
	for i, s := range segments {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			names = append(names, s[1:len(s)-1])
			segments[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(segments, "/"), names
}

func compileOperation(doc *openapi3.T, item *openapi3.PathItem, op *openapi3.Operation, method, route string, pathParams []string) (*operation, error) {
	where := method + " " + route
	out := &operation{id: op.OperationID, method: method, route: route, pathParams: pathParams}
	security := op.Security
	if security == nil {
		security = &doc.Security
	}
	out.public = len(*security) == 0
	// Parameters in kin-openapi's order: the path item's (unless the operation
	// overrides one), then the operation's.
	var params openapi3.Parameters
	for _, p := range item.Parameters {
		if op.Parameters.GetByInAndName(p.Value.In, p.Value.Name) == nil {
			params = append(params, p)
		}
	}
	params = append(params, op.Parameters...)
	for _, p := range params {
		pc, err := compileParameter(p.Value, where)
		if err != nil {
			return nil, err
		}
		switch pc.in {
		case openapi3.ParameterInQuery:
			out.hasQuery = true
		case openapi3.ParameterInPath:
			if pc.pathIndex = slices.Index(pathParams, pc.name); pc.pathIndex < 0 {
				return nil, fmt.Errorf("%s: path parameter %s is not in the path", where, pc.name)
			}
		case openapi3.ParameterInHeader:
		default:
			return nil, fmt.Errorf("%s: parameters in %s are not supported", where, pc.in)
		}
		out.params = append(out.params, pc)
	}
	if rb := op.RequestBody; rb != nil {
		body := rb.Value
		out.body = &bodyCheck{required: body.Required}
		for mt := range body.Content {
			out.body.mediaTypes = append(out.body.mediaTypes, mt)
		}
		slices.Sort(out.body.mediaTypes)
		content := body.Content.Get(echo.MIMEApplicationJSON)
		if len(body.Content) != 1 || content == nil || content.Schema == nil {
			return nil, fmt.Errorf("%s: a request body is application/json, with a schema", where)
		}
		schema, err := compileSchema(content.Schema, where+" body")
		if err != nil {
			return nil, err
		}
		out.body.schema = schema
	}
	return out, nil
}

// checkRoutes makes sure that echo routes exactly the contract's operations: the
// generated routes are the contract's, and each method of each path must be one
// operation here, or a request would be refused (or let through) by mistake.
func (ops *operations) checkRoutes(e *echo.Echo) error {
	seen := map[routeKey]bool{}
	for _, r := range e.Routes() {
		if r.Method == http.MethodHead {
			continue // headRoutes: a GET's
		}
		k := routeKey{r.Method, r.Path}
		if ops.byRoute[k] == nil {
			return fmt.Errorf("httpapi: echo routes %s %s, which is not an operation of the contract", r.Method, r.Path)
		}
		seen[k] = true
	}
	for k := range ops.byRoute {
		if !seen[k] {
			return fmt.Errorf("httpapi: the contract's %s %s has no route", k.method, k.route)
		}
	}
	return nil
}

// routed is what operationRules found out about a request, for what runs after it.
type routed struct {
	op     *operation
	params []string // the path parameters' values, unescaped, in op.pathParams' order
	body   []byte   // the request body, once read
	read   bool     // body was read
}

// routedKey holds the request's *routed in the echo context.
const routedKey = "orders.routed"

func routedOf(c echo.Context) *routed {
	r, _ := c.Get(routedKey).(*routed)
	return r
}
