// Command removeexample removes the example the template carries beside Order: the
// Shipment aggregate and the fulfilment process manager that creates a shipment for
// each confirmed order. `make remove-example` builds it into bin/lab/removeexample and
// runs it:
//
//	bin/lab/removeexample [-n]
//
// It works on the repository it runs in, from its root (the directory holding go.mod
// and test/lab/go.mod), and imports nothing of the repository's. What belongs to the
// example is stated, not guessed:
//
//   - its own files: every file whose path names it (shipment, fulfilment: the domain
//     package, the use cases, the store and the reactor, the codec, the handlers, the
//     problem pages, the tests), and the few that do not say so in their names
//     (ownFiles), among them this program and its check;
//   - in the shared files, the lines marked "example: shipment" (removed with the
//     marker), and the blocks between a line marked "example: shipment begin" and one
//     marked "example: shipment end" (removed with both markers). The markers are
//     comments in the file's own syntax: // in Go, # in YAML, shell and Makefiles,
//     <!-- --> in Markdown, %% in Mermaid. This is how the registration
//     (infrastructure/wiring, application/app.go, the reactor in cmd/orders/wire.go),
//     openapi.yaml's paths, schemas, tags and problem types, the example's checks in
//     shared tests and its paragraphs in the docs go.
//
// Migrations are history: a migration that has run somewhere is never edited or
// deleted (goose has recorded it, and an existing database keeps its tables). So the
// example's migrations stay, and the program adds the next one, which undoes them: its
// Up is their Down (it drops the read model's table), and it deletes the rows of the
// example's consumers (checkpoints, members); its Down is their Up. The example's events stay in the log,
// which is the service's history: `verify` reports their stream type as skipped (no
// registered aggregate has it) and passes; `rebuild` rebuilds registered read models
// only.
//
// It leaves CHANGELOG.md as it is (history), ends with gofmt on the changed Go files,
// go generate of api/ and test/apiclient/ from the edited openapi.yaml, and go build in
// both modules. -n lists what it would do and changes nothing.
//
// With -leftovers it instead lists, as file:line, every line that still names the
// example (shipment, fulfilment, any case) outside its history (CHANGELOG.md, migrations/,
// recorded results between the rename tool's keep markers), and fails if there is one: `make
// remove-example-check` runs it on its scratch copy after the removal.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/example/orders/test/lab/internal/repo"
)

// The example.
const (
	// Marker marks a line (or, with " begin" and " end", a block) that belongs to the
	// example in a shared file.
	Marker = "example: shipment"
	// exampleName names the migration that undoes the example's.
	exampleName = "shipment"
	labDir      = "test/lab"
)

var (
	// words name the example: a file whose path contains one is the example's, and a line
	// that still contains one after the removal is a leftover.
	words = regexp.MustCompile(`(?i)shipment|fulfill?ment`)
	// ownFiles are the example's files (or directories, ending in /) whose paths do not
	// name it.
	ownFiles = []string{
		"docs/problems/order_not_confirmed.md", // the code shipment.ErrOrderNotConfirmed answers
		".ci/remove-example-check",
		labDir + "/removeexample/",
	}
	// consumers are the example's consumers: the removal migration deletes their
	// checkpoints, so that `consumers status` does not list them as idle for ever.
	consumers = []string{"fulfilment"}
	// consumerTables hold a row per consumer (its checkpoints, the instances running it),
	// keyed by the consumer's name.
	consumerTables = []string{"consumer_checkpoints", "consumer_members"}
	// markerRE finds the marker; begin and end make it a block's.
	markerRE = regexp.MustCompile(regexp.QuoteMeta(Marker) + `(?:\s+(begin|end))?\b`)
)

func main() {
	dry := flag.Bool("n", false, "only list what would be deleted, edited and added")
	left := flag.Bool("leftovers", false, "instead of removing, list the lines that still name the example, and fail if there are any")
	flag.Parse()
	root, err := repo.Root()
	if err == nil {
		err = os.Chdir(root)
	}
	if err == nil {
		if *left {
			err = checkLeftovers()
		} else {
			err = run(*dry)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "removeexample:", err)
		os.Exit(1)
	}
}

// plan is what the removal does to a tree.
type plan struct {
	remove    []string          // the example's own files
	edit      map[string]string // shared files: their text without the marked lines
	editOrder []string
	migration string // the path of the migration to add, "" when none
	sql       string
}

// history is whether f records history: kept as it is, and allowed to name the example.
func history(f string) bool {
	return f == "CHANGELOG.md" || f == "LICENSE" || strings.HasPrefix(f, "migrations/")
}

// own is whether f is one of the example's own files.
func own(f string) bool {
	if history(f) {
		return false
	}
	for _, o := range ownFiles {
		if f == o || strings.HasSuffix(o, "/") && strings.HasPrefix(f, o) {
			return true
		}
	}
	return words.MatchString(f)
}

// makePlan reads the tree (files: every file, relative to the root) and works out
// the removal, changing nothing.
func makePlan(files []string) (*plan, error) {
	p := &plan{edit: map[string]string{}}
	var errs []error
	for _, f := range files {
		if own(f) {
			p.remove = append(p.remove, f)
			continue
		}
		if history(f) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted in the work tree, still in the index
			}
			return nil, err
		}
		if bytes.IndexByte(b, 0) >= 0 || !bytes.Contains(b, []byte(Marker)) {
			continue
		}
		out, err := unmark(f, string(b))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if out != string(b) {
			p.edit[f] = out
			p.editOrder = append(p.editOrder, f)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var err error
	p.migration, p.sql, err = undoMigration(files)
	return p, err
}

// unmark returns text without its marked lines and blocks. A block left open, an end
// without a begin or a begin inside a block is an error naming file:line. Where a
// removal leaves two blank lines together, one goes.
func unmark(file, text string) (string, error) {
	lines := strings.SplitAfter(text, "\n")
	var out []string
	open := 0 // the line number of the open block's begin, 0 when none
	removed := false
	for i, l := range lines {
		if l == "" { // after the last newline
			continue
		}
		m := markerRE.FindStringSubmatch(l)
		switch {
		case m == nil && open == 0:
			if removed && blank(l) && (len(out) == 0 || blank(out[len(out)-1])) {
				removed = false
				continue
			}
			removed = false
			out = append(out, l)
			continue
		case m == nil: // inside a block
		case m[1] == "begin":
			if open != 0 {
				return "", fmt.Errorf("%s:%d: %q inside the block begun at line %d", file, i+1, Marker+" begin", open)
			}
			open = i + 1
		case m[1] == "end":
			if open == 0 {
				return "", fmt.Errorf("%s:%d: %q without a begin", file, i+1, Marker+" end")
			}
			open = 0
		}
		removed = true
	}
	if open != 0 {
		return "", fmt.Errorf("%s:%d: %q without an end", file, open, Marker+" begin")
	}
	if removed && len(out) > 0 && blank(out[len(out)-1]) { // the file ended with what went
		out = out[:len(out)-1]
	}
	return strings.Join(out, ""), nil
}

func blank(l string) bool { return strings.TrimSpace(l) == "" }

var migrationName = regexp.MustCompile(`^migrations/([0-9]+)_[^/]*\.sql$`)

// undoMigration returns the migration that undoes the example's migrations (those
// whose names name it): its path, numbered after the last one, and its text.
func undoMigration(files []string) (string, string, error) {
	last, width := 0, 5
	var mine []string
	for _, f := range files {
		m := migrationName.FindStringSubmatch(f)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", f, err)
		}
		last, width = max(last, n), len(m[1])
		if words.MatchString(path.Base(f)) {
			mine = append(mine, f)
		}
	}
	if len(mine) == 0 {
		return "", "", nil
	}
	slices.Sort(mine)
	var up, down []string
	for _, f := range mine {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", "", err
		}
		u, d, err := gooseSections(f, string(b))
		if err != nil {
			return "", "", err
		}
		up = append([]string{d}, up...) // undone in reverse order
		down = append(down, u)
	}
	var quoted []string
	for _, c := range consumers {
		quoted = append(quoted, "'"+c+"'")
	}
	name := fmt.Sprintf("migrations/%0*d_remove_%s_example.sql", width, last+1, exampleName)
	var b strings.Builder
	fmt.Fprintf(&b, `-- make remove-example removed the %s example. A migration that has run is never
-- edited or deleted, so the example's stay:
--   %s
-- and this one undoes them: its Up is their Down sections (the last one's first), its
-- Down their Up sections. The example's events stay in the log (history): verify
-- reports their stream type as skipped, and nothing else reads them. The rows of its
-- consumers (%s) go, so that consumers status does not list them.

-- +goose Up
`, exampleName, strings.Join(mine, "\n--   "), strings.Join(consumers, ", "))
	for _, u := range up {
		b.WriteString(strings.TrimSpace(u) + "\n")
	}
	if len(quoted) > 0 {
		for _, table := range consumerTables {
			fmt.Fprintf(&b, "DELETE FROM %s WHERE name IN (%s);\n", table, strings.Join(quoted, ", "))
		}
	}
	b.WriteString("\n-- +goose Down\n")
	for _, d := range down {
		b.WriteString(strings.TrimSpace(d) + "\n")
	}
	return name, b.String(), nil
}

var gooseDirective = regexp.MustCompile(`(?m)^-- \+goose (Up|Down)\s*$`)

// gooseSections splits a goose SQL migration into its Up and Down statements.
func gooseSections(file, text string) (up, down string, err error) {
	idx := gooseDirective.FindAllStringSubmatchIndex(text, -1)
	if len(idx) != 2 || text[idx[0][2]:idx[0][3]] != "Up" || text[idx[1][2]:idx[1][3]] != "Down" {
		return "", "", fmt.Errorf("%s: want one -- +goose Up section followed by one -- +goose Down", file)
	}
	up, down = text[idx[0][1]:idx[1][0]], text[idx[1][1]:]
	if strings.TrimSpace(down) == "" {
		return "", "", fmt.Errorf("%s: its Down section is empty, so nothing says how to undo it", file)
	}
	return up, down, nil
}

func run(dry bool) error {
	files, err := listFiles()
	if err != nil {
		return err
	}
	p, err := makePlan(files)
	if err != nil {
		return err
	}
	if len(p.remove) == 0 && len(p.edit) == 0 {
		fmt.Println("removeexample: nothing to remove: no file names the example and no line is marked " + strconv.Quote(Marker))
		return nil
	}
	for _, f := range p.remove {
		fmt.Println("removeexample: delete", f)
	}
	for _, f := range p.editOrder {
		fmt.Println("removeexample: edit", f)
	}
	if p.migration != "" {
		fmt.Println("removeexample: add", p.migration)
	}
	if dry {
		return nil
	}
	if err := p.apply(); err != nil {
		return err
	}
	var changedGo []string
	for _, f := range p.editOrder {
		if strings.HasSuffix(f, ".go") {
			changedGo = append(changedGo, f)
		}
	}
	if len(changedGo) > 0 {
		if out, err := exec.Command("gofmt", append([]string{"-w"}, changedGo...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("gofmt: %w\n%s", err, out)
		}
	}
	for _, step := range [][]string{
		{"generate", "./api/...", "./test/apiclient/..."}, // make generate: api/ and the test client from openapi.yaml
		{"build", "./..."},
		{"-C", labDir, "build", "./..."},
	} {
		fmt.Println("removeexample: go " + strings.Join(step, " "))
		if out, err := exec.Command("go", step...).CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(step, " "), err, out)
		}
	}
	fmt.Printf("removeexample: removed the %s example: %d files deleted, %d edited%s; run make test, then commit\n",
		exampleName, len(p.remove), len(p.edit), map[bool]string{true: ", " + p.migration + " added", false: ""}[p.migration != ""])
	return nil
}

// apply changes the tree as planned: the edits and the migration first, then the
// deletions, and the directories they leave empty.
func (p *plan) apply() error {
	for _, f := range p.editOrder {
		if err := os.WriteFile(f, []byte(p.edit[f]), 0o600); err != nil {
			return err
		}
	}
	if p.migration != "" {
		if err := os.WriteFile(p.migration, []byte(p.sql), 0o600); err != nil {
			return err
		}
	}
	dirs := map[string]bool{}
	for _, f := range p.remove {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for d := filepath.Dir(f); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	// Deepest first, so that a parent is emptied before it is tried.
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	slices.SortFunc(sorted, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, d := range sorted {
		if entries, err := os.ReadDir(d); err == nil && len(entries) == 0 {
			if err := os.Remove(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// The rename tool's markers, spelt in two parts so that this file holds no region
// the rename tool would keep.
const (
	keepBegin = "rename" + ": keep"
	keepEnd   = "rename" + ": end keep"
)

// leftovers lists the lines (file:line: text) that still name the example, outside
// its history: CHANGELOG.md, the migrations and the recorded results (between the
// rename tool's keep markers, keepBegin and keepEnd).
func leftovers(files []string) ([]string, error) {
	var out []string
	for _, f := range files {
		if history(f) {
			continue
		}
		if words.MatchString(f) {
			out = append(out, f+": the file's name names the example")
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			continue
		}
		kept := false
		for i, l := range strings.Split(string(b), "\n") {
			switch {
			case strings.Contains(l, keepEnd):
				kept = false
			case strings.Contains(l, keepBegin):
				kept = true
			case !kept && (words.MatchString(l) || strings.Contains(l, Marker)):
				out = append(out, fmt.Sprintf("%s:%d: %s", f, i+1, strings.TrimSpace(l)))
			}
		}
	}
	return out, nil
}

// checkLeftovers prints the leftovers of the example in this work tree and fails if
// there are any.
func checkLeftovers() error {
	files, err := listFiles()
	if err != nil {
		return err
	}
	left, err := leftovers(files)
	if err != nil {
		return err
	}
	for _, l := range left {
		fmt.Println(l)
	}
	if len(left) > 0 {
		return fmt.Errorf("%d lines still name the example (%s), above", len(left), words)
	}
	return nil
}

// listFiles lists git's tracked and untracked-but-not-ignored files when this is a
// git work tree, else every file under the current directory except .git, .devdb and
// bin.
func listFiles() ([]string, error) {
	if out, err := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		var files []string
		seen := map[string]bool{}
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" && !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
		slices.Sort(files)
		return files, nil
	}
	var files []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".devdb", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, filepath.ToSlash(p))
		}
		return nil
	})
	return files, err
}
