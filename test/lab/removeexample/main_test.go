package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/example/orders/test/lab/internal/repo"
)

func TestUnmark(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"a marked line goes",
			"a\nb // example: shipment\nc\n", "a\nc\n"},
		{"a block goes with its markers",
			"a\n# example: shipment begin\nb\nc\n# example: shipment end\nd\n", "a\nd\n"},
		{"Markdown and Mermaid comments",
			"x\n<!-- example: shipment begin -->\np\n<!-- example: shipment end -->\n  %% example: shipment begin\n  c2 --> app\n  %% example: shipment end\ny\n", "x\ny\n"},
		{"a removed paragraph leaves one blank line",
			"a\n\n<!-- example: shipment begin -->\np\n<!-- example: shipment end -->\n\nb\n", "a\n\nb\n"},
		{"at the start, no blank line is left",
			"<!-- example: shipment begin -->\np\n<!-- example: shipment end -->\n\nb\n", "b\n"},
		{"other words are not the marker",
			"example: shipments\nexample: shipment_x\nno marker\n", "example: shipments\nexample: shipment_x\nno marker\n"},
		{"a removal at the end leaves no blank line at the end",
			"a\n\n# example: shipment begin\nb\n# example: shipment end\n", "a\n"},
		{"a marked line inside a block goes with it",
			"a\n// example: shipment begin\nx // example: shipment\n// example: shipment end\nb", "a\nb"},
	} {
		got, err := unmark("f", c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: unmark(%q) = %q, %v; want %q", c.name, c.in, got, err, c.want)
		}
	}
	for in, want := range map[string]string{
		"a\n// example: shipment begin\nb\n": "f:2: \"example: shipment begin\" without an end",
		"a\n// example: shipment end\n":      "f:2: \"example: shipment end\" without a begin",
		"// example: shipment begin\n// example: shipment begin\n// example: shipment end\n": "f:2: \"example: shipment begin\" inside the block begun at line 1",
	} {
		if _, err := unmark("f", in); err == nil || err.Error() != want {
			t.Errorf("unmark(%q): error %v, want %q", in, err, want)
		}
	}
}

// tree writes files (path -> text) under a new directory that is the working directory
// for the rest of the test, and returns their paths, sorted.
func tree(t *testing.T, files map[string]string) []string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	var paths []string
	for p, text := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

const (
	migration4 = "-- The read model.\n\n-- +goose Up\nCREATE TABLE shipment_overview (id uuid);\nCREATE INDEX x ON shipment_overview (id);\n\n-- +goose Down\nDROP TABLE shipment_overview;\n"
	migration9 = "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 2;\n"
)

func TestPlanAndApply(t *testing.T) {
	files := tree(t, map[string]string{
		"go.mod":                                 "module example.com/x\n",
		"test/lab/go.mod":                        "module example.com/x/test/lab\n",
		"domain/shipment/decide.go":              "package shipment\n",
		"domain/order/decide.go":                 "package order\n",
		"application/fulfilment.go":              "package application\n",
		"application/app.go":                     "package application\n\ntype App struct {\n\tOrders *Orders\n\tShipments *Shipments // example: shipment\n}\n",
		"docs/problems/order_not_confirmed.md":   "Confirm the order, then create the shipment.\n",
		"docs/problems/order_not_found.md":       "No such order.\n",
		"test/lab/removeexample/main.go":         "package main\n",
		"CHANGELOG.md":                           "- Shipments. <!-- example: shipment -->\n",
		"migrations/00004_shipment_overview.sql": migration4,
		"migrations/00009_other.sql":             migration9,
		"README.md":                              "# X\n\nOrders.\n\n<!-- example: shipment begin -->\nAnd shipments.\n<!-- example: shipment end -->\n\nThe end.\n",
	})
	p, err := makePlan(files)
	if err != nil {
		t.Fatal(err)
	}
	wantRemove := []string{"application/fulfilment.go", "docs/problems/order_not_confirmed.md", "domain/shipment/decide.go", "test/lab/removeexample/main.go"}
	if !slices.Equal(p.remove, wantRemove) {
		t.Errorf("remove %q, want %q", p.remove, wantRemove)
	}
	// The history (CHANGELOG.md, the migrations) is kept as it is.
	if !slices.Equal(p.editOrder, []string{"README.md", "application/app.go"}) {
		t.Errorf("edit %q", p.editOrder)
	}
	if p.migration != "migrations/00010_remove_shipment_example.sql" {
		t.Errorf("migration %q", p.migration)
	}
	up, down, err := gooseSections(p.migration, p.sql)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(up) != "DROP TABLE shipment_overview;\nDELETE FROM consumer_checkpoints WHERE name IN ('fulfilment');\nDELETE FROM consumer_members WHERE name IN ('fulfilment');" ||
		strings.TrimSpace(down) != "CREATE TABLE shipment_overview (id uuid);\nCREATE INDEX x ON shipment_overview (id);" {
		t.Errorf("the migration's Up %q and Down %q: want 00004's Down and the checkpoints' DELETE, and 00004's Up", up, down)
	}

	if err := p.apply(); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{
		"README.md":          "# X\n\nOrders.\n\nThe end.\n",
		"application/app.go": "package application\n\ntype App struct {\n\tOrders *Orders\n}\n",
		"CHANGELOG.md":       "- Shipments. <!-- example: shipment -->\n",
		p.migration:          p.sql,
	} {
		if b, err := os.ReadFile(f); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", f, b, err, want)
		}
	}
	for _, f := range append(wantRemove, "domain/shipment", "test/lab/removeexample") {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", f, err)
		}
	}
	for _, f := range []string{"domain/order/decide.go", "test/lab", "docs/problems/order_not_found.md"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	// Once removed, the migration names the example (history); nothing else does.
	now := []string{"test/lab/go.mod", "CHANGELOG.md", "README.md", "application/app.go", "docs/problems/order_not_found.md", "domain/order/decide.go", "go.mod",
		"migrations/00004_shipment_overview.sql", "migrations/00009_other.sql", p.migration}
	if left, err := leftovers(now); err != nil || len(left) != 0 {
		t.Errorf("leftovers after the removal: %q, %v", left, err)
	}
}

func TestLeftovers(t *testing.T) {
	files := tree(t, map[string]string{
		"a.go":                                   "package a\n\n// Orders only.\nvar x = 1 // example: shipment\n",
		"docs/b.md":                              "Fulfillment, fulfilment.\n<!-- rename: keep -->\nThe fulfilment consumer, as measured.\n<!-- rename: end keep -->\nThe SHIPMENTS.\n",
		"x/shipment_doc.md":                      "x\n",
		"CHANGELOG.md":                           "Shipments.\n",
		"migrations/00004_shipment_overview.sql": migration4,
	})
	left, err := leftovers(files)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a.go:4: var x = 1 // example: shipment",
		"docs/b.md:1: Fulfillment, fulfilment.",
		"docs/b.md:5: The SHIPMENTS.",
		"x/shipment_doc.md: the file's name names the example",
	}
	if !slices.Equal(left, want) {
		t.Errorf("leftovers:\n%s\nwant:\n%s", strings.Join(left, "\n"), strings.Join(want, "\n"))
	}
}

func TestGooseSections(t *testing.T) {
	for _, bad := range []string{
		"CREATE TABLE x (id int);\n",
		"-- +goose Up\nCREATE TABLE x (id int);\n",
		"-- +goose Up\nCREATE TABLE x (id int);\n-- +goose Down\n\n",
		"-- +goose Down\nDROP TABLE x;\n-- +goose Up\nCREATE TABLE x (id int);\n",
	} {
		if _, _, err := gooseSections("m.sql", bad); err == nil {
			t.Errorf("gooseSections(%q): no error", bad)
		}
	}
}

// The repository's own markers are balanced, and its example's files are where the
// removal looks for them.
func TestTheRepositorysMarkers(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	files, err := listFiles()
	if err != nil {
		t.Fatal(err)
	}
	p, err := makePlan(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.remove) == 0 || len(p.edit) == 0 || p.migration == "" {
		t.Fatalf("the removal would delete %d files, edit %d and add migration %q: the example or its markers are gone", len(p.remove), len(p.edit), p.migration)
	}
	for _, o := range ownFiles {
		if _, err := os.Stat(strings.TrimSuffix(o, "/")); err != nil {
			t.Errorf("ownFiles names %s: %v", o, err)
		}
	}
}
