// Command rename makes the template yours: `make rename MODULE=github.com/you/shipping`
// builds it into bin/lab/rename and runs
//
//	bin/lab/rename -module github.com/you/shipping [-name shipping]
//
// It works on the repository it runs in, from its root (the directory holding go.mod
// and test/lab/go.mod), the lab's module included. It imports nothing of the
// repository's, since it does not rewrite itself (keptFile). It changes the module path everywhere, and the service's name
// (default: the module path's last element) wherever it names the service rather
// than the domain. The service's name is the identifier used as a program, module or
// infrastructure name:
//
//   - infrastructure/servicename.Name, from which the usage text, the metric prefix,
//     the NOTIFY channel, the development database, its container and volume, and the
//     test template databases derive; NAME in the Makefile;
//   - the directory cmd/<name>, the binary (bin/<name>, /<name> in the images), and
//     the files named <name>-* (deploy/grafana/<name>-dashboard.json);
//   - names of the forms <name>-x and <name>_x (Kubernetes objects, Secrets,
//     ConfigMaps, compose services, metrics, roles, the channel), <NAME>_X (environment
//     variables), <name>:tag (images), database URLs' user and database, the tokens'
//     audience, a container's --name, keys like "<name>.route", "the <name> service",
//     the binary's commands ("orders verify"), the README's title, and the name quoted
//     in prose, YAML or JSON;
//   - in the infrastructure files (Dockerfiles, compose.yaml, .env.example, .gitignore,
//     the Makefile, .ci/, deploy/), every whole word <name>;
//   - main's error prefix, and the API's title in openapi.yaml, after which api/ is
//     regenerated.
//
// It leaves alone the domain's words (domainWords: an order service renamed
// "shipping" keeps its /orders routes, its orders:staff scope and its orders_placed
// counts, and its Order aggregate and order stream type, until you change them), the
// plain English word in prose and Go code, and what records history: CHANGELOG.md,
// LICENSE, the benchmark charts, and the lines between "rename: keep" and
// "rename: end keep" markers (docs/benchmarks.md's results). It ends with gofmt on the
// changed Go files, go generate ./api/... and go build ./... in both modules.
//
// With -leftovers -old-module M -old-name N it instead lists, as file:line, every line
// that a rule above would still match for the old name, and fails if there is one:
// `make rename-check` runs it on its renamed scratch copy.
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
	"strings"
)

const (
	nameFile = "infrastructure/servicename/servicename.go"
	labDir   = "test/lab" // the lab's module, whose go.mod names the service's module twice
)

var (
	nameConst = regexp.MustCompile(`(?m)^const Name = "([^"]*)"`)
	// The name prefixes metric, role and channel names and environment variables, names
	// a Go package, a directory, a binary, databases and containers: letters and digits.
	validName   = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	validModule = regexp.MustCompile(`^[A-Za-z0-9.\-_~]+(/[A-Za-z0-9.\-_~]+)*$`)
)

func main() {
	module := flag.String("module", "", "the new module path, e.g. github.com/you/shipping")
	name := flag.String("name", "", "the service's new name; default: the module path's last element")
	dry := flag.Bool("n", false, "only list the files that would change")
	left := flag.Bool("leftovers", false, "instead of renaming, list the lines that still name the service -old-name (module -old-module), and fail if there are any")
	oldModule := flag.String("old-module", "", "with -leftovers: the module path before the rename")
	oldName := flag.String("old-name", "", "with -leftovers: the service's name before the rename")
	flag.Parse()
	root, err := findRoot()
	if err == nil {
		err = os.Chdir(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(1)
	}
	if *left {
		if err := checkLeftovers(*oldModule, *oldName); err != nil {
			fmt.Fprintln(os.Stderr, "rename:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*module, *name, *dry); err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(1)
	}
}

// findRoot walks up from the working directory to the repository's root: the
// directory holding the service's go.mod and the lab's, test/lab/go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) && isFile(filepath.Join(dir, labDir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod with a " + labDir + "/go.mod beside it above the working directory")
		}
		dir = parent
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func run(newModule, newName string, dry bool) error {
	if newModule == "" || !validModule.MatchString(newModule) {
		return fmt.Errorf("-module %q: want a module path such as github.com/you/shipping", newModule)
	}
	if newName == "" {
		newName = path.Base(newModule)
		if regexp.MustCompile(`^v[0-9]+$`).MatchString(newName) { // github.com/you/shipping/v2
			newName = path.Base(path.Dir(newModule))
		}
		newName = strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "").Replace(newName)) // acme-shipping: acmeshipping
	}
	if !validName.MatchString(newName) {
		return fmt.Errorf("name %q: want lower-case letters and digits (it names a directory, a binary, databases, containers, metrics and SQL roles); give one with NAME=", newName)
	}
	oldModule, err := goOutput("list", "-m")
	if err != nil {
		return fmt.Errorf("go list -m: %w", err)
	}
	b, err := os.ReadFile(nameFile)
	if err != nil {
		return err
	}
	m := nameConst.FindSubmatch(b)
	if m == nil {
		return fmt.Errorf("%s: no `const Name = \"...\"`", nameFile)
	}
	oldName := string(m[1])
	if oldModule == newModule && oldName == newName {
		fmt.Printf("rename: already %s (%s)\n", newModule, newName)
		return nil
	}
	if _, err := os.Stat(filepath.Join("cmd", oldName)); err != nil {
		return fmt.Errorf("cmd/%s: %w", oldName, err)
	}
	if oldName != newName {
		if _, err := os.Stat(filepath.Join("cmd", newName)); err == nil {
			return fmt.Errorf("cmd/%s exists already", newName)
		}
	}

	files, err := textFiles()
	if err != nil {
		return err
	}
	r := renamer{oldModule: oldModule, newModule: newModule, oldName: oldName, newName: newName}
	var changedGo []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted in the work tree, still in the index
			}
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			continue // binary
		}
		if !keptFile(filepath.ToSlash(f)) && strings.Count(string(b), keepBegin) != strings.Count(string(b), keepEnd) {
			return fmt.Errorf("%s: %q and %q do not pair up (a mention of a marker in prose opens a region that keeps the rest of the file)", f, keepBegin, keepEnd)
		}
		out := r.rewrite(f, string(b))
		if out == string(b) {
			continue
		}
		fmt.Println("rename: rewrote", f)
		if dry {
			continue
		}
		if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
			return err
		}
		if strings.HasSuffix(f, ".go") {
			changedGo = append(changedGo, f)
		}
	}
	if dry {
		return nil
	}
	if oldName != newName {
		from, to := filepath.Join("cmd", oldName), filepath.Join("cmd", newName)
		if err := os.Rename(from, to); err != nil {
			return err
		}
		fmt.Printf("rename: moved %s to %s\n", from, to)
		for i, f := range changedGo {
			if strings.HasPrefix(f, from+"/") {
				changedGo[i] = to + strings.TrimPrefix(f, from)
			}
		}
		// Files named after the service (deploy/grafana/<name>-dashboard.json).
		for _, f := range files {
			dir, base := filepath.Split(f)
			if !strings.HasPrefix(base, oldName+"-") || keptFile(filepath.ToSlash(f)) {
				continue
			}
			to := filepath.Join(dir, newName+strings.TrimPrefix(base, oldName))
			if err := os.Rename(f, to); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				return err
			}
			fmt.Printf("rename: moved %s to %s\n", f, to)
		}
	}
	if oldModule != newModule {
		if _, err := goOutput("mod", "edit", "-module", newModule); err != nil {
			return err
		}
	}
	// A changed import path can move an import within its block.
	if len(changedGo) > 0 {
		if out, err := exec.Command("gofmt", append([]string{"-w"}, changedGo...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("gofmt: %w\n%s", err, out)
		}
	}
	fmt.Println("rename: go generate ./api/... (the API title is in the embedded spec)")
	if out, err := goOutput("generate", "./api/..."); err != nil {
		return fmt.Errorf("go generate ./api/...: %w\n%s", err, out)
	}
	fmt.Println("rename: go build ./... (the service, then the lab: test/lab)")
	if out, err := goOutput("build", "./..."); err != nil {
		return fmt.Errorf("go build ./...: %w\n%s", err, out)
	}
	if out, err := goOutput("-C", labDir, "build", "./..."); err != nil {
		return fmt.Errorf("go -C %s build ./...: %w\n%s", labDir, err, out)
	}
	fmt.Printf("rename: module %s -> %s, service %s -> %s; run make test, then commit\n", oldModule, newModule, oldName, newName)
	if _, err := os.Stat(".devdb"); err == nil {
		fmt.Printf("rename: .devdb holds a database named %s; `make db-down && rm -rf .devdb` starts afresh with one named %s\n", oldName, newName)
	}
	return nil
}

// renamer rewrites one file's text.
type renamer struct {
	oldModule, newModule, oldName, newName string
}

// Files that record history are kept as they are: the changelog, the licence (the
// template's authors), the benchmark charts; and, in any file, the lines between
// the markers keepBegin and keepEnd (docs/benchmarks.md's recorded results name the
// binary, the metrics and the channel as they were called when measured).
const (
	keepBegin = "rename: keep"
	keepEnd   = "rename: end keep"
)

func keptFile(f string) bool {
	return f == "CHANGELOG.md" || f == "LICENSE" ||
		strings.HasPrefix(f, "test/lab/rename/") || // this tool: its tests' examples are the template's names, on purpose
		strings.HasPrefix(f, "docs/") && strings.HasSuffix(f, ".svg")
}

// infraFile is a file in which every whole word <name> names the service (an image,
// a container, a Kubernetes object or label, a database, user or audience), apart
// from the domain's words.
func infraFile(f string) bool {
	base := path.Base(f)
	return strings.HasPrefix(base, "Dockerfile") || f == "compose.yaml" || f == ".env.example" || f == ".gitignore" ||
		f == "Makefile" || strings.HasPrefix(f, ".ci/") ||
		strings.HasPrefix(f, "deploy/") && !strings.HasSuffix(f, ".go")
}

// regions splits s into the parts to rewrite (even indexes) and to keep (odd).
func regions(s string) []string {
	var out []string
	for {
		i := strings.Index(s, keepBegin)
		if i < 0 {
			return append(out, s)
		}
		j := strings.Index(s[i:], keepEnd)
		if j < 0 {
			j = len(s) - i
		} else {
			j += len(keepEnd)
		}
		out = append(out, s[:i], s[i:i+j])
		s = s[i+j:]
	}
}

func (r renamer) rewrite(file, s string) string {
	f := filepath.ToSlash(file)
	if keptFile(f) {
		return s
	}
	parts := regions(s)
	for i := 0; i < len(parts); i += 2 {
		parts[i] = r.rewriteText(f, parts[i])
	}
	return strings.Join(parts, "")
}

// rule is a regular expression that finds the old name where it names the service,
// and its replacement.
type rule struct {
	re   *regexp.Regexp
	repl string
}

// domainWords are the domain's words that contain the name (an order service's
// /orders routes, its orders:staff scope, the summary's orders_placed, ...), and the
// paths of other modules and URLs (example.com/orders-x/y): no rule touches them, and
// the leftover check allows them.
func (r renamer) domainWords() *regexp.Regexp {
	q := regexp.QuoteMeta(r.oldName)
	return regexp.MustCompile(`(?m)/` + q + `(?:[^-_A-Za-z0-9]|$)|\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?::[0-9]+)?/[^\s"'` + "`" + `)]*|\b` + q + `:staff\b|\b` + q + `_(placed|confirmed|cancelled|with_snapshot)\b|json:"` + q + `"`)
}

// early are the rules applied before the domain's words are set aside: they find
// the name where it looks like a route (/orders) but is not one.
func (r renamer) early(f string) []rule {
	o, n := r.oldName, r.newName
	q := regexp.QuoteMeta(o)
	rules := []rule{
		// Database URLs: the user, the development password, the database.
		{regexp.MustCompile(`(postgres(?:ql)?://)` + q + `:` + q + `@`), "${1}" + n + ":" + n + "@"},
		{regexp.MustCompile(`(postgres(?:ql)?://)` + q + `([:@])`), "${1}" + n + "${2}"},
		{regexp.MustCompile(`(postgres(?:ql)?://[^\s/'"]*/)` + q + `\b`), "${1}" + n},
		// The image's name in a registry: registry.example.com/orders[:1.4.2].
		{regexp.MustCompile(`(?m)(^|[\s=])((?:[a-z0-9-]+\.)+[a-z]{2,}(?::[0-9]+)?/(?:[a-z0-9._-]+/)*)` + q + `(:[A-Za-z0-9._-]+)?($|[^-_./A-Za-z0-9])`), "${1}${2}" + n + "${3}${4}"},
	}
	base := path.Base(f)
	if strings.HasPrefix(base, "Dockerfile") || f == ".gitignore" {
		// The binary's path in the image, and the one `go build ./cmd/<name>` leaves.
		rules = append(rules, rule{regexp.MustCompile(`/` + q + `\b`), "/" + n})
	}
	return rules
}

// rules are applied with the domain's words set aside.
func (r renamer) rules(f string) []rule {
	o, n := r.oldName, r.newName
	q := regexp.QuoteMeta(o)
	goFile := strings.HasSuffix(f, ".go")
	rules := []rule{
		// <name>-config, <name>-database, <name>-devdb, <name>_app, <name>_http_requests_total, ...
		{regexp.MustCompile(`\b` + q + `([-_][a-z0-9])`), n + "${1}"},
		// ORDERS_IMAGE, ORDERS_TEST_IMAGE, ...
		{regexp.MustCompile(`\b` + regexp.QuoteMeta(strings.ToUpper(o)) + `_([A-Z0-9])`), strings.ToUpper(n) + "_${1}"},
		// "the orders service", "Orders team"
		{regexp.MustCompile(`\b` + q + ` (service|binary|image|replica|migration|team)\b`), n + " ${1}"},
		{regexp.MustCompile(`\b` + regexp.QuoteMeta(title(o)) + ` (service|team)\b`), title(n) + " ${1}"},
		// The tokens' audience, a container's name.
		{regexp.MustCompile(`(AUTH_AUDIENCE[=:]\s*)` + q + `\b`), "${1}" + n},
		{regexp.MustCompile(`(--name[= ])` + q + `\b`), "${1}" + n},
		// Keys namespaced by the name ("orders.route").
		{regexp.MustCompile(`"` + q + `\.([a-z])`), `"` + n + ".${1}"},
		// The README's title, the dashboard's ("title": "Orders").
		{regexp.MustCompile(`(?m)^# ` + regexp.QuoteMeta(title(o)) + `:`), "# " + title(n) + ":"},
	}
	if !strings.HasPrefix(f, "domain/") {
		// The binary's commands, as the usage text and the docs name them ("orders verify").
		rules = append(rules, rule{regexp.MustCompile(`\b` + q + ` (serve|migrate|verify|rebuild|help|consumers|feed|token|healthcheck)\b`), n + " ${1}"})
	}
	if !goFile {
		rules = append(rules,
			// orders:dev, orders:ci-123 (images)
			rule{regexp.MustCompile(`\b` + q + `:([a-z0-9$])`), n + ":${1}"},
			// `orders`, "orders", 'orders': the name quoted in prose, JSON, YAML
			rule{regexp.MustCompile("([\"'`])" + q + "([\"'`])"), "${1}" + n + "${2}"},
			rule{regexp.MustCompile("([\"'`])" + regexp.QuoteMeta(title(o)) + "([\"'`])"), "${1}" + title(n) + "${2}"},
		)
	}
	if infraFile(f) {
		rules = append(rules, rule{regexp.MustCompile(`\b` + q + `\b`), n})
	}
	return rules
}

// setAside replaces the domain's words by placeholders (NUL, index, NUL) and returns
// the function that puts them back.
func (r renamer) setAside(s string) (string, func(string) string) {
	var words []string
	s = r.domainWords().ReplaceAllStringFunc(s, func(w string) string {
		words = append(words, w)
		return fmt.Sprintf("\x00%d\x00", len(words)-1)
	})
	back := regexp.MustCompile(`\x00([0-9]+)\x00`)
	return s, func(s string) string {
		return back.ReplaceAllStringFunc(s, func(p string) string {
			var i int
			_, _ = fmt.Sscanf(strings.Trim(p, "\x00"), "%d", &i)
			return words[i]
		})
	}
}

func (r renamer) rewriteText(f, s string) string {
	s = replaceToken(s, r.oldModule, r.newModule)
	if r.oldName == r.newName {
		return s
	}
	for _, p := range []string{"cmd/", "bin/", "bin/image/"} {
		s = replaceToken(s, p+r.oldName, p+r.newName)
	}
	for _, x := range r.early(f) {
		s = x.re.ReplaceAllString(s, x.repl)
	}
	s, putBack := r.setAside(s)
	for _, x := range r.rules(f) {
		s = x.re.ReplaceAllString(s, x.repl)
	}
	s = putBack(s)
	// main's error prefix, and the tests that expect it.
	if strings.HasPrefix(f, "cmd/"+r.oldName+"/") {
		s = strings.ReplaceAll(s, `"`+r.oldName+`: `, `"`+r.newName+`: `)
	}
	switch f {
	case nameFile:
		s = nameConst.ReplaceAllLiteralString(s, `const Name = "`+r.newName+`"`)
	case "Makefile":
		s = regexp.MustCompile(`(?m)^NAME \?= .*$`).ReplaceAllLiteralString(s, "NAME ?= "+r.newName)
	case "openapi.yaml", "api/openapi.yaml":
		s = replaceLine(s, "  title: "+title(r.oldName), "  title: "+title(r.newName))
	case "cmd/" + r.oldName + "/main.go":
		s = strings.Replace(s, "// Command "+r.oldName+" ", "// Command "+r.newName+" ", 1)
	}
	return s
}

// leftovers lists the lines (file:line: text) that still name the service by its old
// name or module path: where a rule of rewriteText would match. The domain's words and
// the kept files and regions are allowed; so is "orders" as a plain word outside the
// infrastructure files (an order service's prose speaks of orders).
func (r renamer) leftovers(files []string) ([]string, error) {
	var out []string
	for _, file := range files {
		f := filepath.ToSlash(file)
		if keptFile(f) {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			continue
		}
		early := []*regexp.Regexp{ // matched before the domain's words are set aside, as in rewriteText
			regexp.MustCompile(`(^|[^A-Za-z0-9_.~-])` + regexp.QuoteMeta(r.oldModule) + `($|[^A-Za-z0-9_~-])`),
			regexp.MustCompile(`\b(cmd|bin|bin/image)/` + regexp.QuoteMeta(r.oldName) + `\b`),
		}
		for _, x := range r.early(f) {
			early = append(early, x.re)
		}
		var late []*regexp.Regexp
		for _, x := range r.rules(f) {
			late = append(late, x.re)
		}
		line := 1
		for i, p := range regions(string(b)) {
			if i%2 == 0 {
			lines:
				for j, l := range strings.Split(p, "\n") {
					aside, _ := r.setAside(l)
					for _, re := range early {
						if re.MatchString(l) {
							out = append(out, fmt.Sprintf("%s:%d: %s", f, line+j, strings.TrimSpace(l)))
							continue lines
						}
					}
					for _, re := range late {
						if re.MatchString(aside) {
							out = append(out, fmt.Sprintf("%s:%d: %s", f, line+j, strings.TrimSpace(l)))
							continue lines
						}
					}
				}
			}
			line += strings.Count(p, "\n")
		}
	}
	return out, nil
}

// checkLeftovers prints the leftovers of the old name in this work tree and fails if
// there are any.
func checkLeftovers(oldModule, oldName string) error {
	if oldModule == "" || oldName == "" {
		return errors.New("-leftovers needs -old-module and -old-name")
	}
	files, err := textFiles()
	if err != nil {
		return err
	}
	left, err := renamer{oldModule: oldModule, oldName: oldName}.leftovers(files)
	if err != nil {
		return err
	}
	for _, l := range left {
		fmt.Println(l)
	}
	if len(left) > 0 {
		return fmt.Errorf("%d lines still name the service %s (module %s), above", len(left), oldName, oldModule)
	}
	return nil
}

// replaceToken replaces from by to where from is not part of a longer word or path
// element: neither preceded by a letter, digit or '_' nor followed by one, nor by '.',
// '-' or '_' (example.com/a must not match example.com/a-x).
func replaceToken(s, from, to string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, from)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(from)
		before := i == 0 || !isWordByte(s[i-1])
		after := end == len(s) || !isWordByte(s[end]) && (s[end] != '.' || end+1 >= len(s) || !isWordByte(s[end+1])) && s[end] != '-'
		b.WriteString(s[:i])
		if before && after {
			b.WriteString(to)
		} else {
			b.WriteString(from)
		}
		s = s[end:]
	}
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// replaceLine replaces the first line equal to from.
func replaceLine(s, from, to string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimRight(l, "\r\n") == from {
			lines[i] = to + l[len(from):]
			break
		}
	}
	return strings.Join(lines, "")
}

// title is "Shipping" for shipping.
func title(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// textFiles lists the files to rewrite: git's tracked and untracked-but-not-ignored
// files when this is a git work tree, else every file under the current directory
// except .git, .devdb and bin.
func textFiles() ([]string, error) {
	if out, err := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		var files []string
		seen := map[string]bool{}
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" && !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
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
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

func goOutput(args ...string) (string, error) {
	out, err := exec.Command("go", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
