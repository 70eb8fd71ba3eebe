package api

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestEveryExampleValidates walks every example of the contract (schemas and their
// properties, parameters, headers, request and response media types) and validates
// it against its schema; a problem example must also use its code's type, title and
// status from x-problem-types. (test/e2e's TestExamplesMatchTheService checks that
// the service answers what the examples show.)
func TestEveryExampleValidates(t *testing.T) {
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	doc := loadSpec(t)
	catalogue := problemCatalogue(t, doc)
	problem := doc.Components.Schemas["Problem"].Value
	count := 0
	check := func(where string, schema *openapi3.SchemaRef, example any) {
		t.Helper()
		if example == nil || schema == nil || schema.Value == nil {
			return
		}
		count++
		if err := schema.Value.VisitJSON(example); err != nil {
			t.Errorf("%s: example does not match its schema: %v", where, err)
		}
		if schema.Value != problem {
			return
		}
		m, _ := example.(map[string]any)
		code, _ := m["code"].(string)
		want, ok := catalogue[code]
		switch {
		case !ok:
			t.Errorf("%s: problem example code %q is not in x-problem-types", where, code)
		case m["type"] != want.Type || m["title"] != want.Title || fmt.Sprint(m["status"]) != fmt.Sprint(want.Status):
			t.Errorf("%s: problem example %v does not match x-problem-types %+v", where, m, want)
		}
	}
	var walkSchema func(where string, s *openapi3.SchemaRef, seen map[*openapi3.Schema]bool)
	walkSchema = func(where string, s *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		seen[s.Value] = true
		check(where, s, s.Value.Example)
		names := make([]string, 0, len(s.Value.Properties))
		for n := range s.Value.Properties {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			walkSchema(where+"."+n, s.Value.Properties[n], seen)
		}
		walkSchema(where+"[]", s.Value.Items, seen)
	}
	for name, s := range doc.Components.Schemas {
		walkSchema("schemas."+name, s, map[*openapi3.Schema]bool{})
	}
	content := func(where string, c openapi3.Content) {
		for mt, m := range c {
			check(where+" "+mt, m.Schema, m.Example)
			for n, ex := range m.Examples {
				if ex.Value != nil {
					check(where+" "+mt+" examples."+n, m.Schema, ex.Value.Value)
				}
			}
		}
	}
	param := func(where string, p *openapi3.ParameterRef) {
		if p.Value != nil {
			check(where+" parameter "+p.Value.Name, p.Value.Schema, p.Value.Example)
		}
	}
	header := func(where string, h *openapi3.HeaderRef) {
		if h.Value != nil {
			check(where, h.Value.Schema, h.Value.Example)
		}
	}
	for n, p := range doc.Components.Parameters {
		param("parameters."+n, p)
	}
	for n, h := range doc.Components.Headers {
		header("headers."+n, h)
	}
	for n, r := range doc.Components.Responses {
		content("responses."+n, r.Value.Content)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := strings.ToUpper(method) + " " + path
			for _, p := range op.Parameters {
				param(where, p)
			}
			if op.RequestBody != nil {
				content(where+" request", op.RequestBody.Value.Content)
			}
			for status, r := range op.Responses.Map() {
				content(where+" "+status, r.Value.Content)
			}
		}
	}
	if count < 40 {
		t.Errorf("only %d examples found; is the walk broken?", count)
	}
}

type problemType struct {
	Code, Type, Title string
	Status            int
}

func problemCatalogue(t *testing.T, doc *openapi3.T) map[string]problemType {
	t.Helper()
	raw, err := json.Marshal(doc.Extensions["x-problem-types"])
	if err != nil {
		t.Fatal(err)
	}
	var list []problemType
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		t.Fatalf("x-problem-types missing or malformed: %v", err)
	}
	out := map[string]problemType{}
	for _, p := range list {
		out[p.Code] = p
	}
	return out
}
