package postgres

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries means that no PostgreSQL server binaries were found on this machine.
var ErrNoBinaries = errors.New("no PostgreSQL binaries were found (looked for initdb, pg_ctl and postgres in PATH and in /usr/lib/postgresql/*/bin)")

// debianBinGlob is where Debian and Ubuntu install the server binaries; they are not
// in PATH there, which is why PATH alone is not enough.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// binaries are the server programs StartLocal runs, all from one installation.
type binaries struct {
	dir     string // directory holding initdb, pg_ctl and postgres
	version string // e.g. "15.8", from pg_ctl --version
}

func (b binaries) path(name string) string { return filepath.Join(b.dir, name) }

// findBinaries looks in dir if given, else in PATH, else in the highest-versioned
// /usr/lib/postgresql/*/bin.
func findBinaries(dir string) (binaries, error) {
	if dir != "" {
		return binariesIn(dir)
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		// Resolve symlinks (/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl)
		// so that initdb and postgres are taken from the same installation.
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			p = resolved
		}
		if b, err := binariesIn(filepath.Dir(p)); err == nil {
			return b, nil
		}
	}
	dirs, _ := filepath.Glob(debianBinGlob)
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if b, err := binariesIn(d); err == nil {
			return b, nil
		}
	}
	return binaries{}, ErrNoBinaries
}

func binariesIn(dir string) (binaries, error) {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return binaries{}, fmt.Errorf("%w: %s has no executable %s", ErrNoBinaries, dir, name)
		}
	}
	b := binaries{dir: dir}
	if out, err := exec.Command(b.path("pg_ctl"), "--version").Output(); err == nil {
		b.version = versionRE.FindString(string(out))
	}
	return b, nil
}

var versionRE = regexp.MustCompile(`\d+(\.\d+)*`)

// majorOf extracts 15 from /usr/lib/postgresql/15/bin, for sorting.
func majorOf(dir string) float64 {
	v, _ := strconv.ParseFloat(strings.TrimSpace(filepath.Base(filepath.Dir(dir))), 64)
	return v
}
