package eventcodec_test

import (
	"encoding"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/infrastructure/eventcodec"
)

var updateShapes = flag.Bool("update", false, "write the golden payload shape of each event's current schema version if it does not exist yet")

// The JSON shape of every order event is pinned by a golden file per stored name and
// schema version (testdata/payloads/order/<name>_v<version>.golden), derived from the
// registered Go type: changing what an event's payload holds without bumping its schema
// version fails here.
func TestOrderPayloadShapesMatchTheirGolden(t *testing.T) {
	checkPayloadShapes(t, eventcodec.NewOrderRegistry(), filepath.Join("testdata", "payloads", "order"))
}

// checkPayloadShapes compares the payload shape of each of r's events, at the version
// it is written at now, with its golden file in dir; -update writes the files that do
// not exist yet, never one that does. The golden files of older versions stay: they are
// the shapes of payloads already stored, which the upcasters read.
func checkPayloadShapes[E any](t *testing.T, r *eventcodec.Registry[E], dir string) {
	t.Helper()
	update := fmt.Sprintf("go test ./infrastructure/eventcodec -run '^%s$' -update", t.Name())
	for _, name := range r.Names() {
		version, _ := r.Version(name)
		goType, _ := r.GoType(name)
		got := payloadShape(goType)
		path := filepath.Join(dir, fmt.Sprintf("%s_v%d.golden", name, version))
		want, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && *updateShapes:
			if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // checked-in test data
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil { //nolint:gosec // checked-in test data
				t.Fatal(err)
			}
			t.Logf("wrote %s; keep the golden files of older versions", path)
			continue
		case errors.Is(err, fs.ErrNotExist):
			t.Errorf("no golden payload shape for %s at schema version %d (%s): run %s (and keep the golden of the version before)", name, version, path, update)
			continue
		case err != nil:
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("the JSON shape of %s changed, but its schema version is still %d: bump the schema version and add an upcaster "+
				"(Register it at version %d, and RegisterUpcaster(%q, %d, ...) that gives a stored v%d payload the new shape), "+
				"then run %s, which writes %s_v%d.golden; keep %s, the shape of the payloads already stored.\n got:\n%s\nwant:\n%s",
				name, version, version+1, name, version, version, update, name, version+1, path, got, want)
		}
	}
}

// payloadShape is the JSON shape of a value of t as encoding/json writes and reads it:
// one line per member of an object, "name[,options]: what", sorted by name, the members
// of an object inside a member indented below it. Go's own names (of types and fields)
// are not in it, since they are not in the payload.
func payloadShape(t reflect.Type) string {
	what, members := describe(t, "", nil)
	if members == "" {
		return what + "\n"
	}
	return members
}

var (
	jsonMarshaler  = reflect.TypeFor[json.Marshaler]()
	textMarshaler  = reflect.TypeFor[encoding.TextMarshaler]()
	personalPrefix = strings.SplitN(reflect.TypeFor[kit.Personal[struct{}]]().Name(), "[", 2)[0] + "["
	kitPackage     = reflect.TypeFor[kit.Personal[struct{}]]().PkgPath()
)

// describe returns what a value of t is in JSON ("string", "object", "array of
// object", ...) and the lines of the members of the object it holds, if any, at indent.
// outer are the struct types t is inside of, for a type that holds itself.
func describe(t reflect.Type, indent string, outer []reflect.Type) (what, members string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.PkgPath() == kitPackage && strings.HasPrefix(t.Name(), personalPrefix):
		// Personal data: sealed in the log, its clear value's shape inside the seal.
		m, _ := t.MethodByName("Value")
		what, members := describe(m.Type.Out(0), indent, outer)
		return "personal data (kit.Personal) of " + what, members
	case t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler),
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		return "as " + t.String() + " writes itself", ""
	}
	switch t.Kind() {
	case reflect.Struct:
		if slices.Contains(outer, t) {
			return "object: " + t.String() + ", again", ""
		}
		return "object", structMembers(t, indent, append(outer, t))
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string (base64)", ""
		}
		what, members := describe(t.Elem(), indent, outer)
		return "array of " + what, members
	case reflect.Array:
		what, members := describe(t.Elem(), indent, outer)
		return fmt.Sprintf("array of %d %s", t.Len(), what), members
	case reflect.Map:
		what, members := describe(t.Elem(), indent, outer)
		return "object of " + what, members
	case reflect.String:
		return "string", ""
	case reflect.Bool:
		return "boolean", ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer", ""
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "unsigned integer", ""
	case reflect.Float32, reflect.Float64:
		return "number", ""
	case reflect.Interface:
		return "any", ""
	default:
		return "not JSON: " + t.Kind().String(), ""
	}
}

// structMembers are the lines of the members encoding/json gives a struct: its exported
// fields under their tags' names (with the tags' options), "-" left out, the fields of
// an untagged embedded struct in its own.
func structMembers(t reflect.Type, indent string, outer []reflect.Type) string {
	type member struct{ name, text string }
	var ms []member
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, options, _ := strings.Cut(tag, ",")
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				collect(ft)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if options != "" {
				name += "," + options
			}
			what, members := describe(f.Type, indent+"  ", outer)
			ms = append(ms, member{name, indent + name + ": " + what + "\n" + members})
		}
	}
	collect(t)
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.text)
	}
	return b.String()
}
