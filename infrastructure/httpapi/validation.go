package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/example/orders/api"
)

// Request validation, compiled once at start from the contract (openapi.yaml, as
// api.GetSpec loads it): every parameter and request body schema becomes a check that
// runs on the decoded value, with no schema interpretation, routing or document lookup
// at request time. It implements the part of OpenAPI 3.0's JSON Schema the contract
// uses, with the semantics and messages of kin-openapi's validator (which the service
// used before, and which the contract tests still use as the reference:
// TestCompiledValidationMatchesKinOpenAPI); a keyword outside that part fails New with
// an error naming it, rather than being ignored.
//
// The messages are what a client reads in the problem's errors: "minimum string
// length is 1", "number must be at most 100", "value must be an integer", "must be a
// valid uuid" for a format, a pattern's x-pattern-message, "property \"currency\" is
// missing", and "is not a known property" on the unknown property itself.

// typeBit is one JSON Schema type.
type typeBit uint8

const (
	typeString typeBit = 1 << iota
	typeInteger
	typeNumber
	typeBoolean
	typeArray
	typeObject
)

var typeBits = map[string]typeBit{
	openapi3.TypeString: typeString, openapi3.TypeInteger: typeInteger, openapi3.TypeNumber: typeNumber,
	openapi3.TypeBoolean: typeBoolean, openapi3.TypeArray: typeArray, openapi3.TypeObject: typeObject,
}

// schemaCheck is one compiled schema.
type schemaCheck struct {
	types    typeBit // 0: any type
	typeMsg  string  // "value must be a string"
	nullable bool
	empty    bool // no keyword: any value but null

	enum    []any
	enumMsg string

	// numbers
	requireInteger bool
	intFormat      string // int32 or int64: the value must fit
	min, max       *float64
	minMsg, maxMsg string

	// strings
	minLength, maxLength uint64
	hasMaxLength         bool
	minLenMsg, maxLenMsg string
	pattern              *regexp.Regexp
	patternMsg           string
	format               string // a string format that is checked
	formatOK             func(string) bool

	// arrays
	minItems, maxItems      uint64
	hasMaxItems             bool
	minItemsMsg, maxItemMsg string
	items                   *schemaCheck

	// objects
	properties map[string]*schemaCheck
	required   []string
	closed     bool         // additionalProperties: false
	additional *schemaCheck // additionalProperties: a schema
}

// failure is one way a value breaks its schema: what, and where (the path from the
// value that was checked, built only for a failure, innermost key first).
type failure struct {
	rpath   []string
	message string
	unknown *string // for an unknown property: its name (the path is the object's)
}

// under puts the failures from n on under key.
func under(out []failure, n int, key string) {
	for i := n; i < len(out); i++ {
		out[i].rpath = append(out[i].rpath, key)
	}
}

// compileSchema compiles ref; where names it in errors.
func compileSchema(ref *openapi3.SchemaRef, where string) (*schemaCheck, error) {
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("%s: no schema", where)
	}
	s := ref.Value
	switch {
	case len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Not != nil:
		return nil, fmt.Errorf("%s: allOf, anyOf, oneOf and not are not supported in requests", where)
	case s.MultipleOf != nil || s.ExclusiveMin.IsSet() || s.ExclusiveMax.IsSet() || s.UniqueItems ||
		s.MinProps != 0 || s.MaxProps != nil || s.ReadOnly || s.WriteOnly || s.Const != nil || s.AllowEmptyValue ||
		len(s.PrefixItems) > 0:
		return nil, fmt.Errorf("%s: a keyword request validation does not support (multipleOf, exclusiveMinimum/Maximum, uniqueItems, "+
			"min/maxProperties, readOnly, writeOnly, const, allowEmptyValue, prefixItems)", where)
	}
	c := &schemaCheck{nullable: s.Nullable, empty: s.IsEmpty(), minLength: s.MinLength}
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			bit, ok := typeBits[t]
			if !ok {
				return nil, fmt.Errorf("%s: type %q is not supported in requests", where, t)
			}
			c.types |= bit
		}
		c.typeMsg = expectedTypeMessage(s.Type.Slice())
	}
	permits := func(b typeBit) bool { return c.types == 0 || c.types&b != 0 }
	if len(s.Enum) > 0 {
		for _, e := range s.Enum {
			switch e.(type) {
			case string, bool, float64, nil:
			default:
				return nil, fmt.Errorf("%s: enum: only strings, numbers, booleans and null are supported", where)
			}
		}
		c.enum = s.Enum
		allowed, err := json.Marshal(s.Enum)
		if err != nil {
			return nil, fmt.Errorf("%s: enum: %w", where, err)
		}
		c.enumMsg = "value is not one of the allowed values " + string(allowed)
	}
	// numbers
	c.requireInteger = permits(typeInteger) && !permits(typeNumber)
	if s.Format != "" && (permits(typeInteger) || permits(typeNumber)) && c.requireInteger {
		if s.Format == "int32" || s.Format == "int64" {
			c.intFormat = s.Format
		}
	}
	if s.Min != nil {
		c.min, c.minMsg = s.Min, fmt.Sprintf("number must be at least %g", *s.Min)
	}
	if s.Max != nil {
		c.max, c.maxMsg = s.Max, fmt.Sprintf("number must be at most %g", *s.Max)
	}
	// strings
	c.minLenMsg = fmt.Sprintf("minimum string length is %d", s.MinLength)
	if s.MaxLength != nil {
		c.maxLength, c.hasMaxLength, c.maxLenMsg = *s.MaxLength, true, fmt.Sprintf("maximum string length is %d", *s.MaxLength)
	}
	if s.Pattern != "" {
		// As kin-openapi compiles it: \uXXXX becomes Go's \x{XXXX} (the contract writes
		// none; api/spec_patterns_test.go keeps it so).
		re, err := regexp.Compile(goRegexpCodepoints.ReplaceAllString(s.Pattern, `\x{${code}}`))
		if err != nil {
			return nil, fmt.Errorf("%s: pattern: %w", where, err)
		}
		c.pattern = re
		c.patternMsg = fmt.Sprintf(`string doesn't match the regular expression "%s"`, s.Pattern)
		if m, ok := s.Extensions["x-pattern-message"].(string); ok {
			c.patternMsg = m
		}
	}
	if s.Format != "" && permits(typeString) {
		if ok := stringFormats[s.Format]; ok != nil {
			c.format, c.formatOK = s.Format, ok
		}
	}
	// arrays
	if s.MinItems != 0 {
		c.minItems, c.minItemsMsg = s.MinItems, fmt.Sprintf("minimum number of items is %d", s.MinItems)
	}
	if s.MaxItems != nil {
		c.maxItems, c.hasMaxItems, c.maxItemMsg = *s.MaxItems, true, fmt.Sprintf("maximum number of items is %d", *s.MaxItems)
	}
	if s.Items != nil {
		items, err := compileSchema(s.Items, where+".items")
		if err != nil {
			return nil, err
		}
		c.items = items
	}
	// objects
	if len(s.Properties) > 0 {
		c.properties = map[string]*schemaCheck{}
		for name, p := range s.Properties {
			pc, err := compileSchema(p, where+"."+name)
			if err != nil {
				return nil, err
			}
			c.properties[name] = pc
			if p.Value.Default != nil {
				return nil, fmt.Errorf("%s.%s: a default inside a request body is not supported", where, name)
			}
		}
	}
	c.required = s.Required
	if has := s.AdditionalProperties.Has; has != nil && !*has {
		c.closed = true
	}
	if ap := s.AdditionalProperties.Schema; ap != nil {
		a, err := compileSchema(ap, where+".additionalProperties")
		if err != nil {
			return nil, err
		}
		c.additional = a
	}
	return c, nil
}

var goRegexpCodepoints = regexp.MustCompile(`\\u(?P<code>[0-9A-F]{4})`)

// expectedTypeMessage is what a value of another type is told.
func expectedTypeMessage(types []string) string {
	if len(types) != 1 {
		return "value must be one of " + strings.Join(types, ", ")
	}
	switch t := types[0]; t {
	case openapi3.TypeArray, openapi3.TypeObject, openapi3.TypeInteger:
		return "value must be an " + t
	default:
		return "value must be a " + t
	}
}

// stringFormats are the formats that are checked; any other is an annotation, as in
// kin-openapi (which knows these, and uuid as this service defines it).
var stringFormats = map[string]func(string) bool{
	"uuid":      isUUID,
	"date-time": dateFormat(openapi3.FormatOfStringDateTime),
	"date":      dateFormat(openapi3.FormatOfStringDate),
	"byte":      regexp.MustCompile(openapi3.FormatOfStringByte).MatchString,
}

// isUUID is RFC 9562's UUID (UUIDv7, the ids this service hands out, included), the nil
// and the max UUID, as kin-openapi's FormatOfStringForUUIDOfRFC9562 matches it, without
// the regexp: 8-4-4-4-12 hex digits, the version 1-8 and the variant 10xx
// (FuzzUUIDFormat compares the two).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	all := func(c byte) bool {
		for i := 0; i < 36; i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return false
				}
			} else if s[i] != c && (c != 'f' || s[i] != 'F') {
				return false
			}
		}
		return true
	}
	if all('0') || all('f') {
		return true
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
			continue
		case 14:
			if c < '1' || c > '8' {
				return false
			}
			continue
		case 19:
			if !strings.ContainsRune("89abAB", rune(c)) {
				return false
			}
			continue
		}
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// dateFormat is kin-openapi's check of date and date-time: the pattern, and a day the
// month has.
func dateFormat(pattern string) func(string) bool {
	re := regexp.MustCompile(pattern)
	return func(s string) bool {
		if !re.MatchString(s) {
			return false
		}
		_, err := time.Parse(time.DateOnly, s[:len(time.DateOnly)])
		return err == nil
	}
}

// check appends to out every way v breaks c, in the order kin-openapi reports them.
func (c *schemaCheck) check(v any, out []failure) []failure {
	fail := func(msg string) []failure { return append(out, failure{message: msg}) }
	if v == nil && c.nullable {
		return out
	}
	if c.empty {
		if v == nil {
			return fail("Value is not nullable")
		}
		return out
	}
	if c.enum != nil && !inEnum(c.enum, v) {
		return fail(c.enumMsg)
	}
	switch t := v.(type) {
	case nil:
		return fail("Value is not nullable")
	case bool:
		if c.types != 0 && c.types&typeBoolean == 0 {
			return fail(c.typeMsg)
		}
		return out
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return fail("cannot convert json.Number to float64")
		}
		return c.checkNumber(f, out)
	case int64:
		return c.checkNumber(float64(t), out)
	case int32:
		return c.checkNumber(float64(t), out)
	case float64:
		return c.checkNumber(t, out)
	case string:
		return c.checkString(t, out)
	case []any:
		return c.checkArray(t, out)
	case map[string]any:
		return c.checkObject(t, out)
	}
	return fail(fmt.Sprintf("unhandled value of type %T", v))
}

func inEnum(enum []any, v any) bool {
	for _, e := range enum {
		if equalJSON(e, v) {
			return true
		}
	}
	return false
}

// equalJSON compares an enum member with a value, numbers by value.
func equalJSON(a, b any) bool {
	if x, ok := jsonFloat(a); ok {
		y, ok := jsonFloat(b)
		return ok && x == y
	}
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	}
	return false // an enum holds no array or object (compileSchema refuses them)
}

func jsonFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case int:
		return float64(v), true
	}
	return 0, false
}

func (c *schemaCheck) checkNumber(f float64, out []failure) []failure {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(out, failure{message: couldNotBeRead})
	}
	if c.types != 0 && c.types&(typeInteger|typeNumber) == 0 {
		return append(out, failure{message: c.typeMsg})
	}
	if c.requireInteger && f != math.Trunc(f) {
		out = append(out, failure{message: "value must be an integer"})
	}
	if c.intFormat != "" && !fitsIntFormat(c.intFormat, f) {
		out = append(out, failure{message: "must be a valid " + c.intFormat})
	}
	if c.min != nil && !(*c.min <= f) {
		out = append(out, failure{message: c.minMsg})
	}
	if c.max != nil && !(*c.max >= f) {
		out = append(out, failure{message: c.maxMsg})
	}
	return out
}

// fitsIntFormat is kin-openapi's range check of int32 and int64 on a float64.
func fitsIntFormat(format string, f float64) bool {
	var n int64
	switch {
	case f == float64(math.MaxInt64): // 2^63: MaxInt64 rounded
		n = math.MaxInt64
	case f >= float64(math.MinInt64) && f < float64(math.MaxInt64):
		n = int64(f)
	default:
		return false
	}
	return format != "int32" || n >= math.MinInt32 && n <= math.MaxInt32
}

func (c *schemaCheck) checkString(s string, out []failure) []failure {
	if c.types != 0 && c.types&typeString == 0 {
		return append(out, failure{message: c.typeMsg})
	}
	if c.minLength != 0 || c.hasMaxLength {
		n := uint64(0)
		for range s { // characters (code points), as JSON Schema counts
			n++
		}
		if c.minLength != 0 && n < c.minLength {
			out = append(out, failure{message: c.minLenMsg})
		}
		if c.hasMaxLength && n > c.maxLength {
			out = append(out, failure{message: c.maxLenMsg})
		}
	}
	if c.pattern != nil && !c.pattern.MatchString(s) {
		out = append(out, failure{message: c.patternMsg})
	}
	if c.formatOK != nil && !c.formatOK(s) {
		out = append(out, failure{message: "must be a valid " + c.format})
	}
	return out
}

func (c *schemaCheck) checkArray(a []any, out []failure) []failure {
	if c.types != 0 && c.types&typeArray == 0 {
		return append(out, failure{message: c.typeMsg})
	}
	if c.minItems != 0 && uint64(len(a)) < c.minItems {
		out = append(out, failure{message: c.minItemsMsg})
	}
	if c.hasMaxItems && uint64(len(a)) > c.maxItems {
		out = append(out, failure{message: c.maxItemMsg})
	}
	if c.items != nil {
		for i, item := range a {
			n := len(out)
			if out = c.items.check(item, out); len(out) > n {
				under(out, n, strconv.Itoa(i))
			}
		}
	}
	return out
}

func (c *schemaCheck) checkObject(obj map[string]any, out []failure) []failure {
	if c.types != 0 && c.types&typeObject == 0 {
		return append(out, failure{message: c.typeMsg})
	}
	// Members in the order of their names, as kin-openapi reports them.
	var sorted [8]string
	names := sorted[:0]
	for k := range obj {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if p := c.properties[k]; p != nil {
			n := len(out)
			out = p.check(obj[k], out)
			under(out, n, k)
			continue
		}
		if c.closed {
			// Named as Go quotes it (a"b is a\"b, a control character escaped), as
			// kin-openapi named it.
			q := strconv.Quote(k)
			q = q[1 : len(q)-1]
			out = append(out, failure{unknown: &q, message: "is not a known property"})
			continue
		}
		if c.additional != nil {
			n := len(out)
			out = c.additional.check(obj[k], out)
			under(out, n, k)
		}
	}
	for _, k := range c.required {
		if _, ok := obj[k]; !ok {
			out = append(out, failure{rpath: []string{k}, message: fmt.Sprintf("property %q is missing", k)})
		}
	}
	return out
}

// bodyFields names the failures of a request body as the problem's errors do: a field
// by its path (lines.0.sku), the body itself as "body", an unknown property by its own
// path.
func bodyFields(fs []failure) []api.FieldError {
	out := make([]api.FieldError, len(fs))
	for i, f := range fs {
		path := slices.Clone(f.rpath)
		slices.Reverse(path)
		field := strings.Join(path, ".")
		switch {
		case f.unknown != nil && field == "":
			field = *f.unknown
		case f.unknown != nil:
			field += "." + *f.unknown
		case field == "":
			field = "body"
		}
		out[i] = api.FieldError{Field: field, Message: f.message}
	}
	return out
}

// paramCheck is one compiled parameter.
type paramCheck struct {
	name      string
	in        string // path, query or header
	pathIndex int    // a path parameter's index in operation.pathParams; -1 otherwise
	header    string // the canonical header name
	required  bool
	array     bool // a query parameter, form style
	explode   bool
	kind      string // the primitive type its values are parsed as (of the items for an array)
	is32      bool   // parsed as a 32-bit integer (format int32)
	schema    *schemaCheck
	// dflt is the value of an absent query parameter, as the generated handler reads it.
	dflt    any
	dfltRaw string
}

func compileParameter(p *openapi3.Parameter, where string) (*paramCheck, error) {
	where += " parameter " + p.Name
	if p.Content != nil || p.Schema == nil {
		return nil, fmt.Errorf("%s: only parameters with a schema are supported", where)
	}
	sm, err := p.SerializationMethod()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	pc := &paramCheck{pathIndex: -1, name: p.Name, in: p.In, header: http.CanonicalHeaderKey(p.Name), required: p.Required, explode: sm.Explode}
	if p.AllowEmptyValue {
		return nil, fmt.Errorf("%s: allowEmptyValue is not supported", where)
	}
	s := p.Schema.Value
	primitive := s
	if s.Type.Is(openapi3.TypeArray) {
		if p.In != openapi3.ParameterInQuery || sm.Style != openapi3.SerializationForm || s.Items == nil || s.Items.Value == nil {
			return nil, fmt.Errorf("%s: only form-style query arrays are supported", where)
		}
		pc.array, primitive = true, s.Items.Value
	}
	types := primitive.Type.Slice()
	if len(types) != 1 || len(primitive.AllOf)+len(primitive.AnyOf)+len(primitive.OneOf) > 0 || primitive.Not != nil {
		return nil, fmt.Errorf("%s: a parameter (or its items) needs exactly one primitive type", where)
	}
	switch pc.kind = types[0]; pc.kind {
	case openapi3.TypeString, openapi3.TypeNumber, openapi3.TypeBoolean:
	case openapi3.TypeInteger:
		pc.is32 = primitive.Format == "int32"
	default:
		return nil, fmt.Errorf("%s: type %s is not supported", where, pc.kind)
	}
	switch {
	case p.In == openapi3.ParameterInPath && sm.Style == openapi3.SerializationSimple,
		p.In == openapi3.ParameterInQuery && sm.Style == openapi3.SerializationForm,
		p.In == openapi3.ParameterInHeader && sm.Style == openapi3.SerializationSimple:
	default:
		return nil, fmt.Errorf("%s: style %s in %s is not supported", where, sm.Style, p.In)
	}
	if s.Default != nil {
		if p.In != openapi3.ParameterInQuery || pc.array {
			return nil, fmt.Errorf("%s: a default is supported on a primitive query parameter only", where)
		}
		pc.dflt, pc.dfltRaw = s.Default, fmt.Sprint(s.Default)
	}
	if pc.schema, err = compileSchema(p.Schema, where); err != nil {
		return nil, err
	}
	return pc, nil
}

// couldNotBeRead is what a parameter or body that is required, or sent empty where
// that is not allowed, is told.
const couldNotBeRead = "could not be read"

// check validates the parameter's value in a request: the path parameter's (unescaped)
// value, or the query's or the headers'. An absent query parameter with a default gets
// it in query, where the generated handler reads it.
func (pc *paramCheck) check(pathValue string, query url.Values, header http.Header, out []api.FieldError) []api.FieldError {
	var (
		value any
		found bool
		err   error
	)
	switch pc.in {
	case openapi3.ParameterInPath:
		if pathValue != "" {
			found = true
			value, err = parsePrimitive(pathValue, pc.kind, pc.is32)
		}
	case openapi3.ParameterInQuery:
		var values []string
		values, found = query[pc.name]
		if len(values) > 0 {
			if pc.array {
				value, err = pc.parseArray(values)
			} else {
				value, err = parsePrimitive(firstNonEmpty(values), pc.kind, pc.is32)
			}
		}
	case openapi3.ParameterInHeader:
		var values []string
		values, found = header[pc.header]
		if len(values) > 0 {
			value, err = parsePrimitive(values[0], pc.kind, pc.is32)
		}
	}
	if err != nil {
		return append(out, api.FieldError{Field: pc.name, Message: "cannot be parsed: " + err.Error()})
	}
	if !found && pc.dflt != nil {
		value = pc.dflt
		query.Del(pc.name)
		query.Add(pc.name, pc.dfltRaw)
	}
	if pc.required && !found {
		return append(out, api.FieldError{Field: pc.name, Message: couldNotBeRead})
	}
	if value == nil {
		if found {
			return append(out, api.FieldError{Field: pc.name, Message: couldNotBeRead})
		}
		return out
	}
	for _, f := range pc.schema.check(value, nil) {
		out = append(out, api.FieldError{Field: pc.name, Message: f.message})
	}
	return out
}

// firstNonEmpty is the value of a query parameter given more than once: the first that
// is not empty.
func firstNonEmpty(values []string) string {
	raw := values[0]
	if raw == "" {
		for _, v := range values[1:] {
			if v != "" {
				return v
			}
		}
	}
	return raw
}

// parseArray parses a form-style array: comma-separated unless exploded.
func (pc *paramCheck) parseArray(values []string) (any, error) {
	if !pc.explode {
		values = strings.Split(values[0], ",")
	}
	out := make([]any, 0, len(values))
	for i, v := range values {
		item, err := parsePrimitive(v, pc.kind, pc.is32)
		if err != nil {
			return nil, fmt.Errorf("path %d: %w", i, err)
		}
		if item == nil {
			return nil, nil
		}
		out = append(out, item)
	}
	if len(out) == 1 {
		if s, ok := out[0].(string); ok && s == "" {
			return nil, nil
		}
	}
	return out, nil
}

// parseError is a parameter value that is not of its type, worded as kin-openapi words
// it ("value abc: an invalid integer: invalid syntax").
type parseError struct {
	value, kind string
	cause       error
}

func (e *parseError) Error() string {
	return "value " + e.value + ": an invalid " + e.kind + ": " + e.cause.Error()
}

// parsePrimitive parses a parameter's text as kind: nil for an empty value that is not
// a string.
func parsePrimitive(raw, kind string, is32 bool) (any, error) {
	if raw == "" && kind != openapi3.TypeString {
		return nil, nil
	}
	numErr := func(err error) error {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return &parseError{value: raw, kind: kind, cause: err}
	}
	switch kind {
	case openapi3.TypeInteger:
		if is32 {
			v, err := strconv.ParseInt(raw, 10, 32)
			if err != nil {
				return nil, numErr(err)
			}
			return int32(v), nil //nolint:gosec // ParseInt checked the size
		}
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, numErr(err)
		}
		return v, nil
	case openapi3.TypeNumber:
		if strings.ContainsFunc(raw, func(r rune) bool { return !strings.ContainsRune("+-.0123456789eE", r) }) {
			return nil, numErr(strconv.ErrSyntax)
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, numErr(err)
		}
		return v, nil
	case openapi3.TypeBoolean:
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, numErr(err)
		}
		return v, nil
	}
	return raw, nil
}
