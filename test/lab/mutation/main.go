// Command mutation mutation-tests one package of this module with gremlins
// (github.com/go-gremlins/gremlins, version pinned below): each mutant (one operator
// flipped, inverted or swapped in the package's non-test files) is built, and the
// package's own tests run against it; a mutant they do not fail "lived".
//
//	make mutation PKG=./infrastructure/postgres/eventstore/
//	go -C test/lab build -o ../../bin/lab/mutation ./mutation && bin/lab/mutation -pkg ./infrastructure/postgres/eventstore/
//
// It runs on a snapshot of the working tree (tracked and untracked files, not the
// ignored ones), so that edits made meanwhile do not mix into the run, and starts one
// throwaway PostgreSQL server ($POSTGRES_PROVIDER, local binaries by default) that
// every mutant's test run uses through TEST_DATABASE_URL, as pgtest allows: the store's
// tests run on real PostgreSQL, and a mutant that hangs leaves no server behind.
//
// Around gremlins:
//   - A mutant that does not compile is NOT VIABLE and counts neither way. gremlins
//     takes exit status 2 for that, but go test exits 1 on a build failure too (which
//     gremlins would count as KILLED, e.g. &x turned into |x). So every go command
//     gremlins runs goes through this program, first in PATH as "go": it exits 2 when
//     the package did not build, turns vet off (a mutant vet dislikes still compiles),
//     and kills the test's process group just before gremlins times it out. It also
//     makes the coverage run last at least -min-timeout / -timeout-coefficient, since
//     gremlins' timeout is that coefficient times the coverage run: a fast coverage
//     run on a busy machine would time out mutants that merely ran slowly.
//   - All of gremlins' mutators are on, not only its defaults.
//   - equivalent.txt lists the mutants judged equivalent (no test can tell them from
//     the original), each with its reason; the summary shows the score with and
//     without them, and the survivors not judged yet.
//
// -diff REV mutates only the lines changed since REV (gremlins' --diff): what a change
// added to a package, in minutes rather than the hours a whole package can take
// (`make mutation PKG=./infrastructure/postgres/subscription/ MUTATION_FLAGS="-diff main"`).
//
// A package tested through others (aggregatestore, by the stores built on it) is judged
// by their tests with -tests: the shim runs those instead of the package's own, and the
// coverage is the package's under them (-coverpkg).
//
// Score: killed / (killed + lived), gremlins' "test efficacy"; timed out and not viable
// are reported apart (the summary also scores timed out as killed), and mutants in code
// the package's tests never run are NOT COVERED (listed, not scored).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/example/orders/test/postgres"
)

// gremlinsModule is the mutation tool, installed (go install) at this version.
const gremlinsModule = "github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0"

// mutators are gremlins' operators that are off by default.
var mutators = []string{"--invert-assignments", "--invert-bitwise", "--invert-bwassign", "--invert-logical",
	"--invert-loopctrl", "--remove-self-assignments"}

const (
	realGoEnv   = "MUTATION_REAL_GO"
	shimLogEnv  = "MUTATION_SHIM_LOG"
	coverEnv    = "MUTATION_COVER_FLOOR"
	testsEnv    = "MUTATION_TESTS"    // import paths whose tests judge the mutants, space-separated
	coverPkgEnv = "MUTATION_COVERPKG" // the mutated package's import path, when MUTATION_TESTS is set
	urlEnv      = "TEST_DATABASE_URL"
	providerEnv = "POSTGRES_PROVIDER"
)

func main() {
	if filepath.Base(os.Args[0]) == "go" {
		os.Exit(shim(os.Args[1:]))
	}
	pkg := flag.String("pkg", "", "the package to mutate, e.g. ./infrastructure/postgres/eventstore/")
	coefficient := flag.Int("timeout-coefficient", 4, "a mutant's test run may take this many times the coverage run")
	minTimeout := flag.Duration("min-timeout", 90*time.Second, "but at least this long (a busy machine slows every run; a mutant that loops ends at the timeout)")
	workers := flag.Int("workers", 1, "mutants tested at once (each runs the package's tests)")
	equivalent := flag.String("equivalent", "", "the list of mutants judged equivalent (default: test/lab/mutation/equivalent.txt)")
	output := flag.String("o", "", "also write gremlins' JSON results to this file")
	minScore := flag.Float64("min", 0, "exit 1 when the score without the judged-equivalent mutants is below this percentage")
	keep := flag.Bool("keep", false, "keep the snapshot (its path is printed)")
	recursive := flag.Bool("recursive", false, "also mutate the packages below pkg (gremlins walks the directory tree)")
	diff := flag.String("diff", "", "mutate only the lines changed since this git revision (gremlins --diff), e.g. main or a commit")
	tests := flag.String("tests", "", "comma-separated package directories whose tests judge the mutants instead of pkg's own\n(for a package tested through others, e.g. -pkg ./infrastructure/postgres/aggregatestore/ -tests ./infrastructure/postgres/orderstore/)")
	flag.Parse()
	if *pkg == "" {
		fmt.Fprintln(os.Stderr, "mutation: -pkg is required, e.g. -pkg ./infrastructure/postgres/eventstore/")
		os.Exit(2)
	}
	code, err := run(*pkg, *tests, *diff, *coefficient, *minTimeout, *workers, *equivalent, *output, *minScore, *keep, *recursive)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutation:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(pkg, tests, diff string, coefficient int, minTimeout time.Duration, workers int, equivalentFile, output string, minScore float64, keep, recursive bool) (int, error) {
	root, rel, err := packageDir(pkg)
	if err != nil {
		return 0, err
	}
	if equivalentFile == "" {
		equivalentFile = filepath.Join(root, "test", "lab", "mutation", "equivalent.txt")
	}
	equivalents, err := readEquivalents(equivalentFile)
	if err != nil {
		return 0, err
	}
	realGo, err := exec.LookPath("go")
	if err != nil {
		return 0, err
	}

	tmp, err := os.MkdirTemp("", "mutation-")
	if err != nil {
		return 0, err
	}
	cleanup := func() {
		if !keep {
			_ = os.RemoveAll(tmp)
		}
	}
	defer cleanup()
	snapshot := filepath.Join(tmp, "src")
	n, err := copySnapshot(root, snapshot)
	if err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	fmt.Fprintf(os.Stderr, "mutation: snapshot of %d files in %s\n", n, snapshot)

	// "go" first in PATH is this program (see shim).
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	bin := filepath.Join(tmp, "bin")
	if err := os.Mkdir(bin, 0o750); err != nil {
		return 0, err
	}
	if err := os.Symlink(self, filepath.Join(bin, "go")); err != nil {
		return 0, err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := os.Environ()
	if os.Getenv(urlEnv) == "" {
		if os.Getenv(providerEnv) == "" {
			env = append(env, providerEnv+"="+postgres.ProviderLocal)
			_ = os.Setenv(providerEnv, postgres.ProviderLocal)
		}
		startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		server, err := postgres.Start(startCtx, postgres.Options{Database: "postgres", Ephemeral: true, MaxConnections: 300})
		cancel()
		if err != nil {
			return 0, err
		}
		defer func() { _ = server.Stop(context.Background()) }()
		fmt.Fprintf(os.Stderr, "mutation: every mutant's tests use %s\n", server.How)
		env = append(env, urlEnv+"="+server.URL)
	}
	if tests != "" {
		modPath, err := modulePath(root)
		if err != nil {
			return 0, err
		}
		var paths []string
		for _, dir := range strings.Split(tests, ",") {
			_, testRel, err := packageDir(dir)
			if err != nil {
				return 0, err
			}
			paths = append(paths, modPath+"/"+filepath.ToSlash(testRel))
		}
		env = append(env, testsEnv+"="+strings.Join(paths, " "), coverPkgEnv+"="+modPath+"/"+filepath.ToSlash(rel))
		fmt.Fprintf(os.Stderr, "mutation: the mutants of %s are judged by the tests of %s\n", rel, strings.Join(paths, ", "))
	}
	shimLog := filepath.Join(tmp, "shim.log")
	env = append(env, realGoEnv+"="+realGo, shimLogEnv+"="+shimLog, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		coverEnv+"="+(minTimeout/time.Duration(max(coefficient, 1))).String())

	// Installed, not run with go run: go run puts GOROOT/bin first in PATH, before the
	// shim.
	tools := filepath.Join(tmp, "tools")
	install := exec.CommandContext(ctx, realGo, "install", gremlinsModule)
	install.Env = append(os.Environ(), "GOBIN="+tools)
	install.Stdout, install.Stderr = os.Stderr, os.Stderr
	if err := install.Run(); err != nil {
		return 0, fmt.Errorf("go install %s: %w", gremlinsModule, err)
	}
	out := filepath.Join(tmp, "gremlins.json")
	args := append([]string{"unleash",
		"--workers", strconv.Itoa(workers), "--timeout-coefficient", strconv.Itoa(coefficient), "--output", out},
		mutators...)
	if !recursive {
		// gremlins names files from pkg's directory: those in a subdirectory have a "/".
		args = append(args, "--exclude-files", "/")
	}
	args = append(args, filepath.Join(snapshot, rel))
	cmd := exec.CommandContext(ctx, filepath.Join(tools, "gremlins"), args...)
	cmd.Dir = snapshot
	if diff != "" {
		// gremlins runs `git diff --merge-base REV` where it runs and matches the diff's
		// file names with its own, which are relative to the package: git is pointed at
		// the repository with the snapshot as its work tree, and run from the package
		// with diff.relative.
		cmd.Args = slices.Insert(cmd.Args, len(cmd.Args)-1, "--diff", diff)
		cmd.Dir = filepath.Join(snapshot, rel)
		env = append(env, "GIT_DIR="+filepath.Join(root, ".git"), "GIT_WORK_TREE="+snapshot,
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=diff.relative", "GIT_CONFIG_VALUE_0=true")
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	fmt.Fprintf(os.Stderr, "mutation: gremlins %s\n", strings.Join(cmd.Args[1:], " "))
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("gremlins: %w", err)
	}
	if ctx.Err() != nil {
		return 130, nil
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return 0, err
	}
	if runs, err := os.ReadFile(shimLog); err != nil || len(runs) == 0 {
		return 0, errors.New("gremlins ran go test without this program's shim: not viable mutants would count as killed")
	}
	if output != "" {
		if err := os.WriteFile(output, data, 0o600); err != nil {
			return 0, err
		}
	}
	score, err := summarize(os.Stdout, data, filepath.Join(snapshot, rel), rel, equivalents)
	if err != nil {
		return 0, err
	}
	if keep {
		fmt.Fprintf(os.Stderr, "mutation: the snapshot stays in %s\n", snapshot)
	}
	if minScore > 0 && score < minScore {
		fmt.Printf("below the minimum of %.1f%%\n", minScore)
		return 1, nil
	}
	return 0, nil
}

// modulePath is the module path that root's go.mod declares.
func modulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(path), `"`), nil
		}
	}
	return "", fmt.Errorf("%s/go.mod declares no module", root)
}

// packageDir finds the module that holds pkg (a directory) and pkg's path in it.
func packageDir(pkg string) (root, rel string, err error) {
	abs, err := filepath.Abs(strings.TrimSuffix(pkg, "/..."))
	if err != nil {
		return "", "", err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", "", fmt.Errorf("%s is not a package directory", pkg)
	}
	for root = abs; ; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(root) == root {
			return "", "", fmt.Errorf("%s is not in a Go module", pkg)
		}
	}
	rel, err = filepath.Rel(root, abs)
	return root, rel, err
}

// copySnapshot copies the module's files (git's tracked and untracked ones, not the
// ignored ones; every file but .git, bin and .devdb outside a git checkout) to dst.
func copySnapshot(root, dst string) (int, error) {
	var files []string
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
	} else {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				switch rel {
				case ".git", "bin", ".devdb":
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	n := 0
	for _, f := range files {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or not a file
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return n, err
		}
		target := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return n, err
		}
		if err := os.WriteFile(target, data, fi.Mode().Perm()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// shim stands in for the go command under gremlins. A `go test` whose package did
// not build exits 2 (NOT VIABLE to gremlins), vet is off, and the test's process group
// is killed shortly before gremlins' own timeout (gremlins kills only this process,
// which would leave the test binary running).
func shim(args []string) int {
	realGo := os.Getenv(realGoEnv)
	if realGo == "" {
		fmt.Fprintln(os.Stderr, "mutation: "+realGoEnv+" is not set")
		return 3
	}
	if len(args) == 0 || args[0] != "test" {
		cmd := exec.Command(realGo, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		return exitCode(cmd.Run())
	}
	args = append([]string{"test", "-vet=off"}, args[1:]...)
	if tests := strings.Fields(os.Getenv(testsEnv)); len(tests) > 0 {
		// gremlins names the mutated package (or a pattern) last: other packages'
		// tests judge it, and the coverage is of the mutated package.
		if slices.Contains(args, "-coverprofile") {
			args = append([]string{"test", "-coverpkg", os.Getenv(coverPkgEnv)}, args[1:]...)
		}
		args = append(args[:len(args)-1], tests...)
	}
	if slices.Contains(args, "-coverprofile") {
		// gremlins times every mutant's run at coefficient × this run: make it last at
		// least min-timeout / coefficient.
		if floor, err := time.ParseDuration(os.Getenv(coverEnv)); err == nil {
			defer func(start time.Time) { time.Sleep(floor - time.Since(start)) }(time.Now())
		}
	}
	var out bytes.Buffer
	cmd := exec.Command(realGo, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var expire <-chan time.Time
	if d, ok := testTimeout(args); ok {
		// gremlins gives the test -timeout T+2s and kills this process at T.
		expire = time.After(max(d-2*time.Second-500*time.Millisecond, time.Second))
	}
	var err error
	select {
	case err = <-done:
	case <-expire:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		fmt.Fprintf(os.Stderr, "mutation: go %s: timed out (%v)\n", strings.Join(args, " "), <-done)
		select {} // gremlins' deadline comes next: TIMED OUT
	}
	_, _ = os.Stdout.Write(out.Bytes())
	code := exitCode(err)
	if code != 0 && (bytes.Contains(out.Bytes(), []byte("[build failed]")) || bytes.Contains(out.Bytes(), []byte("[setup failed]"))) {
		code = 2
	}
	if path := os.Getenv(shimLogEnv); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			_, _ = fmt.Fprintf(f, "%s exit %d\n", strings.Join(args, " "), code)
			_ = f.Close()
		}
	}
	return code
}

func testTimeout(args []string) (time.Duration, bool) {
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "-timeout=")
		if !ok && a == "-timeout" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			d, err := time.ParseDuration(v)
			return d, err == nil && d > 0
		}
	}
	return 0, false
}

func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.ExitCode() < 0 {
			return 1
		}
		return exit.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
}

// equivalent is one line of equivalent.txt:
//
//	<file from the module root> <MUTATOR> | <text around the mutated operator> | <why no test can tell>
type equivalent struct {
	file, mutator, line, why string
}

func readEquivalents(path string) ([]equivalent, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	var list []equivalent
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		parts := strings.SplitN(text, " | ", 3)
		head := strings.Fields(parts[0])
		if len(parts) != 3 || len(head) != 2 {
			return nil, fmt.Errorf("%s:%d: want <file> <MUTATOR> | <line> | <reason>", path, n)
		}
		list = append(list, equivalent{file: head[0], mutator: head[1], line: strings.TrimSpace(parts[1]), why: strings.TrimSpace(parts[2])})
	}
	return list, sc.Err()
}

type result struct {
	Files []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

// summarize prints the counts, the score and every mutant that lived or was not
// covered, with its line, and returns the score without the judged-equivalent ones.
func summarize(w io.Writer, data []byte, dir, rel string, equivalents []equivalent) (float64, error) {
	var r result
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, fmt.Errorf("gremlins' results: %w", err)
	}
	counts := map[string]int{}
	var lived, judged, uncovered []string
	lines := map[string][]string{}
	for _, f := range r.Files {
		src, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			return 0, err
		}
		lines[f.Name] = strings.Split(string(src), "\n")
		for _, m := range f.Mutations {
			counts[m.Status]++
			raw := ""
			if m.Line >= 1 && m.Line <= len(lines[f.Name]) {
				raw = lines[f.Name][m.Line-1]
			}
			text := strings.TrimSpace(raw)
			where := fmt.Sprintf("%s:%d:%d %-24s %s", filepath.ToSlash(filepath.Join(rel, f.Name)), m.Line, m.Column, m.Type, text)
			switch m.Status {
			case "LIVED":
				if why, ok := judgedEquivalent(equivalents, filepath.ToSlash(filepath.Join(rel, f.Name)), m.Type, raw, m.Column); ok {
					judged = append(judged, where+"\n      equivalent: "+why)
				} else {
					lived = append(lived, where)
				}
			case "NOT COVERED":
				uncovered = append(uncovered, where)
			}
		}
	}
	sort.Strings(lived)
	sort.Strings(judged)
	sort.Strings(uncovered)
	killed, alive := counts["KILLED"], counts["LIVED"]
	pct := func(a, b int) float64 {
		if b == 0 {
			return 100
		}
		return 100 * float64(a) / float64(b)
	}
	score := pct(killed, killed+alive-len(judged))
	_, _ = fmt.Fprintf(w, "\n%s (gremlins, all mutators)\n", rel)
	_, _ = fmt.Fprintf(w, "  killed %d, lived %d (%d judged equivalent), timed out %d, not viable %d, not covered %d\n",
		killed, alive, len(judged), counts["TIMED OUT"], counts["NOT VIABLE"], counts["NOT COVERED"])
	timedOut := counts["TIMED OUT"]
	_, _ = fmt.Fprintf(w, "  score killed/(killed+lived): %.1f%%; without the judged-equivalent: %.1f%%; timed out counted as killed: %.1f%%\n",
		pct(killed, killed+alive), score, pct(killed+timedOut, killed+timedOut+alive-len(judged)))
	for _, s := range []struct {
		title string
		list  []string
	}{{"lived, not judged", lived}, {"lived, judged equivalent", judged}, {"not covered by the package's tests", uncovered}} {
		if len(s.list) > 0 {
			_, _ = fmt.Fprintf(w, "  %s:\n", s.title)
			for _, l := range s.list {
				_, _ = fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	return score, nil
}

// judgedEquivalent finds the judgement of the mutant at column (1-based, in bytes) of
// line: the judged text must occur in the line around that column, so that two
// operators of one line are told apart.
func judgedEquivalent(list []equivalent, file, mutator, line string, column int) (string, bool) {
	for _, e := range list {
		if e.file != file || e.mutator != mutator || e.line == "" {
			continue
		}
		for from := 0; ; {
			i := strings.Index(line[from:], e.line)
			if i < 0 {
				break
			}
			start := from + i
			if start <= column-1 && column-1 < start+len(e.line) {
				return e.why, true
			}
			from = start + 1
		}
	}
	return "", false
}
