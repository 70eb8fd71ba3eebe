// Package adoption checks what a team adopting the template expects to find besides
// the code: a licence, a CI workflow that runs .ci/run, dependency updates, a security
// policy, an example environment, and a .gitignore that covers what the documented
// commands leave behind.
package adoption

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/example/orders/infrastructure/servicename"
)

const root = "../.."

func read(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(data)
}

func TestLicense(t *testing.T) {
	text := read(t, "LICENSE")
	if !strings.HasPrefix(text, "MIT License") && !strings.Contains(text, "Apache License") {
		t.Errorf("LICENSE is neither MIT nor Apache-2.0")
	}
	if !strings.Contains(read(t, "README.md"), "LICENSE") {
		t.Errorf("README.md does not mention the licence")
	}
}

// TestCIWorkflowRunsCIRun: the GitHub Actions workflow runs .ci/run, within its time
// limit, with read-only permissions.
func TestCIWorkflowRunsCIRun(t *testing.T) {
	var wf struct {
		On          any               `yaml:"on"`
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			RunsOn         string `yaml:"runs-on"`
			TimeoutMinutes int    `yaml:"timeout-minutes"`
			Steps          []struct {
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(read(t, ".github/workflows/ci.yml")), &wf); err != nil {
		t.Fatal(err)
	}
	if wf.Permissions["contents"] != "read" {
		t.Errorf("permissions %v: want contents: read", wf.Permissions)
	}
	runs := false
	for name, job := range wf.Jobs {
		var uses []string
		for _, s := range job.Steps {
			if strings.TrimSpace(s.Run) == "bash .ci/run" {
				runs = true
				if job.TimeoutMinutes == 0 || job.TimeoutMinutes > 90 {
					t.Errorf("job %s: timeout-minutes %d, want at most 90 (.ci/run's limit)", name, job.TimeoutMinutes)
				}
			}
			if s.Uses != "" {
				uses = append(uses, strings.Split(s.Uses, "@")[0])
				if strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["go-version-file"] != "go.mod" {
					t.Errorf("job %s: setup-go must take the Go version from go.mod", name)
				}
			}
		}
		if slices.Contains(uses, "actions/setup-go") && !slices.Contains(uses, "actions/checkout") {
			t.Errorf("job %s: no checkout", name)
		}
	}
	if !runs {
		t.Errorf("no job runs `bash .ci/run`")
	}
}

func TestDependabot(t *testing.T) {
	var cfg struct {
		Version int `yaml:"version"`
		Updates []struct {
			Ecosystem string `yaml:"package-ecosystem"`
			Directory string `yaml:"directory"`
			Schedule  struct {
				Interval string `yaml:"interval"`
			} `yaml:"schedule"`
		} `yaml:"updates"`
	}
	if err := yaml.Unmarshal([]byte(read(t, ".github/dependabot.yml")), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Version != 2 {
		t.Errorf("version %d, want 2", cfg.Version)
	}
	var got []string
	for _, u := range cfg.Updates {
		got = append(got, u.Ecosystem)
		if u.Directory == "" || u.Schedule.Interval == "" {
			t.Errorf("%s: directory %q, interval %q", u.Ecosystem, u.Directory, u.Schedule.Interval)
		}
	}
	for _, want := range []string{"gomod", "github-actions", "docker"} {
		if !slices.Contains(got, want) {
			t.Errorf("no %s updates (have %v)", want, got)
		}
	}
	// Every Go module of the repository (the service's, the lab's: test/lab) is updated.
	var gomod []string
	for _, u := range cfg.Updates {
		if u.Ecosystem == "gomod" {
			gomod = append(gomod, path.Clean(u.Directory))
		}
	}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".devdb")) {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		if dir := path.Join("/", filepath.ToSlash(rel)); !slices.Contains(gomod, dir) {
			t.Errorf("%s: no gomod update for directory %s in .github/dependabot.yml (have %v)", filepath.Join(rel, "go.mod"), dir, gomod)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecurityPolicy(t *testing.T) {
	text := read(t, "SECURITY.md")
	if !regexp.MustCompile(`(?i)report`).MatchString(text) {
		t.Errorf("SECURITY.md does not say how to report a vulnerability")
	}
}

// TestEnvExample: .env.example names only settings the service reads (every name is
// in the README's settings table), and the required ones.
func TestEnvExample(t *testing.T) {
	readme := read(t, "README.md")
	names := regexp.MustCompile(`(?m)^#?\s*([A-Z][A-Z0-9_]+)=`).FindAllStringSubmatch(read(t, ".env.example"), -1)
	var seen []string
	for _, m := range names {
		seen = append(seen, m[1])
		if !strings.Contains(readme, "`"+m[1]+"`") {
			t.Errorf(".env.example sets %s, which the README's settings do not list", m[1])
		}
	}
	for _, want := range []string{"DATABASE_URL", "MIGRATE_DATABASE_URL", "APP_DB_ROLE", "AUTH_JWKS_URL"} {
		if !slices.Contains(seen, want) {
			t.Errorf(".env.example does not set %s", want)
		}
	}
}

// TestGitignoreCoversWhatCommandsLeave: the files the documented commands write
// into the tree are ignored by git.
func TestGitignoreCoversWhatCommandsLeave(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	if out, err := exec.Command(git, "-C", root, "rev-parse", "--is-inside-work-tree").Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Skip("not a git work tree")
	}
	left := []string{
		"feed.pos",                      // <name> feed tail --position-file feed.pos (README)
		"feed.pos.123.tmp",              // its temporary file, while it saves
		".devdb/auth-hs256-secret",      // make run
		".devdb/pgdata/PG_VERSION",      // make run without Docker
		"bin/" + servicename.Name,       // make build, make run
		"bin/image/ca-certificates.crt", // make image
		"test/lab/bench/out/smoke.json", // make bench-smoke
		"bin/lab/bench",                 // make bench, make run (bin/lab/devdb), ...
		servicename.Name,                // go build ./cmd/<name>
		".env",                          // cp .env.example .env
		"cmd/" + servicename.Name + "/" + servicename.Name + ".test", // go test -c
		"cover.out",                                    // go test -coverprofile
		"test/lab/bench/out/cpu-place.pprof",           // make bench BENCH_FLAGS=-cpuprofile
		"time-" + time.Now().Format("2006") + ".pprof", // go test -cpuprofile
	}
	for _, f := range left {
		if err := exec.Command(git, "-C", root, "check-ignore", "-q", "--no-index", f).Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore", f)
		}
	}
	// And nothing tracked is ignored by accident.
	out, err := exec.Command(git, "-C", root, "ls-files", "--cached", "--ignored", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tracked files that .gitignore matches:\n%s", s)
	}
}
