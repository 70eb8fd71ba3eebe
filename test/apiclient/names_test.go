package apiclient

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// Every enum constant of the generated code is named after its type
// (always-prefix-enum-values in both oapi-codegen.yaml files): without it, oapi-codegen
// prefixes a constant only while another enum shares its value, so adding or removing
// an unrelated schema renames constants under their users (removing another schema
// whose enum also has "pending" and "cancelled" turned OrderStatusConfirmed into
// Confirmed).
func TestEnumConstantsArePrefixedWithTheirType(t *testing.T) {
	for _, file := range []string{"client.gen.go", "../../api/api.gen.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				v := s.(*ast.ValueSpec)
				typ, ok := v.Type.(*ast.Ident)
				if !ok {
					continue
				}
				for _, name := range v.Names {
					n++
					if !strings.HasPrefix(name.Name, typ.Name) {
						t.Errorf("%s: constant %s of type %s is not prefixed with its type: set compatibility.always-prefix-enum-values in the oapi-codegen.yaml next to it and run make generate", file, name.Name, typ.Name)
					}
				}
			}
		}
		if n == 0 {
			t.Fatalf("%s: no typed constants found", file)
		}
	}
}
