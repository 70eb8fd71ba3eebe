// Command rename makes the template yours: `make rename MODULE=github.com/you/shipping`
// runs
//
//	go run ./test/rename -module github.com/you/shipping [-name shipping]
//
// in the module root. It changes the module path everywhere, and the service's name
// (default: the module path's last element) where it names the service:
//
//   - infrastructure/servicename.Name, from which the usage text, the development
//     database, its container and volume, and the test template databases derive;
//   - NAME in the Makefile (the binary bin/<name> and the command directory);
//   - the directory cmd/<name>, and every path that mentions it (cmd/<name>,
//     bin/<name>) in the code, the scripts and the documentation;
//   - the binary's commands where the text names them (`orders verify`), and main's
//     error prefix;
//   - the API's title in openapi.yaml, after which api/ is regenerated;
//   - the locally built CI image <name>-postgres and the <name>-devdb container.
//
// It leaves the domain's words alone: an order service renamed "shipping" still has
// an Order aggregate and /orders routes until you change them. It ends with gofmt on
// the changed Go files and go build ./....
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

const nameFile = "infrastructure/servicename/servicename.go"

var (
	nameConst   = regexp.MustCompile(`(?m)^const Name = "([^"]*)"`)
	validName   = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	validModule = regexp.MustCompile(`^[A-Za-z0-9.\-_~]+(/[A-Za-z0-9.\-_~]+)*$`)
)

func main() {
	module := flag.String("module", "", "the new module path, e.g. github.com/you/shipping")
	name := flag.String("name", "", "the service's new name; default: the module path's last element")
	dry := flag.Bool("n", false, "only list the files that would change")
	flag.Parse()
	if err := run(*module, *name, *dry); err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(1)
	}
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
		newName = strings.ToLower(strings.ReplaceAll(newName, "_", "-"))
	}
	if !validName.MatchString(newName) {
		return fmt.Errorf("name %q: want lower-case letters and digits, words joined by '-' (it names a directory, a binary, databases and containers); give one with NAME=", newName)
	}
	oldModule, err := goOutput("list", "-m")
	if err != nil {
		return fmt.Errorf("go list -m (run this in the module root): %w", err)
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
	fmt.Println("rename: go build ./...")
	if out, err := goOutput("build", "./..."); err != nil {
		return fmt.Errorf("go build ./...: %w\n%s", err, out)
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

func (r renamer) rewrite(file, s string) string {
	if strings.HasPrefix(filepath.ToSlash(file), "test/rename/") {
		return s // this tool: its tests' examples are the template's names, on purpose
	}
	s = replaceToken(s, r.oldModule, r.newModule)
	if r.oldName == r.newName {
		return s
	}
	for _, p := range []string{"cmd/", "bin/"} {
		s = replaceToken(s, p+r.oldName, p+r.newName)
	}
	for _, suffix := range []string{"-postgres", "-devdb-data", "-devdb"} {
		s = replaceToken(s, r.oldName+suffix, r.newName+suffix)
	}
	// The binary's commands, as the usage text and the docs name them ("orders verify").
	if !strings.HasPrefix(filepath.ToSlash(file), "domain/") {
		s = regexp.MustCompile(`\b`+regexp.QuoteMeta(r.oldName)+` (serve|migrate|verify|rebuild|help)\b`).
			ReplaceAllString(s, r.newName+" $1")
	}
	// Metric names (<name>_http_requests_total) and role names (<name>_app) where the
	// dashboard, its test, the smoke test and the operations docs name them.
	if f := filepath.ToSlash(file); strings.HasPrefix(f, "deploy/") || strings.HasPrefix(f, "docs/") {
		s = regexp.MustCompile(`\b`+regexp.QuoteMeta(r.oldName)+`_([a-z])`).ReplaceAllString(s, r.newName+"_$1")
	}
	// main's error prefix, and the tests that expect it.
	if strings.HasPrefix(filepath.ToSlash(file), "cmd/"+r.oldName+"/") {
		s = strings.ReplaceAll(s, `"`+r.oldName+`: `, `"`+r.newName+`: `)
	}
	switch filepath.ToSlash(file) {
	case nameFile:
		s = nameConst.ReplaceAllLiteralString(s, `const Name = "`+r.newName+`"`)
	case "Makefile":
		s = regexp.MustCompile(`(?m)^NAME \?= .*$`).ReplaceAllLiteralString(s, "NAME ?= "+r.newName)
	case "openapi.yaml", "api/openapi.yaml":
		s = replaceLine(s, "  title: "+title(r.oldName), "  title: "+title(r.newName))
		s = replaceLine(s, "    name: "+title(r.oldName)+" team", "    name: "+title(r.newName)+" team")
	case filepath.ToSlash(filepath.Join("cmd", r.oldName, "main.go")):
		s = strings.Replace(s, "// Command "+r.oldName+" ", "// Command "+r.newName+" ", 1)
	}
	return s
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
