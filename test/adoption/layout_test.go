package adoption

import (
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeLayoutNamesEveryPackage: the README's layout table names every package of
// the service, by its path or, in a row that names a sibling by path, by its last
// element (`infrastructure/metrics`, `tracing`); a program's own commands below a named
// package (test/pgtest/cmd/where) count as named, and so do an added aggregate's
// packages where a row names their pattern (`domain/<name>`, `<name>store`), so that
// adding one needs no row. A new package without a row fails.
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	readme := read(t, "README.md")
	start := strings.Index(readme, "## Layout\n")
	end := strings.Index(readme[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README.md has no Layout section")
	}
	named := map[string]bool{}
	cell := regexp.MustCompile("`([a-z0-9_/.<>-]+)`")
	for _, row := range strings.Split(readme[start:start+1+end], "\n") {
		first, _, ok := strings.Cut(strings.TrimPrefix(row, "| "), " |")
		if !ok {
			continue
		}
		var dir string
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			if strings.Contains(m[1], "/") || dir == "" {
				named[m[1]] = true
				dir = path.Dir(m[1])
			} else {
				named[path.Join(dir, m[1])] = true
			}
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", root+"/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	var patterns []*regexp.Regexp
	for name := range named {
		if strings.Contains(name, "<name>") {
			patterns = append(patterns, regexp.MustCompile("^"+strings.ReplaceAll(regexp.QuoteMeta(name), "<name>", "[a-z0-9]+")+"$"))
		}
	}
	module := strings.TrimSpace(string(mustOutput(t, "go", "list", "-m")))
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if rel == "" || named[rel] || slices.ContainsFunc(patterns, func(p *regexp.Regexp) bool { return p.MatchString(rel) }) {
			continue
		}
		if parent, _, ok := strings.Cut(rel, "/cmd/"); ok && named[parent] {
			continue
		}
		t.Errorf("README.md's layout table does not name the package %s", rel)
	}
}

func mustOutput(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}
