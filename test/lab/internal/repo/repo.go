// Package repo finds the service's repository root from inside the lab. The lab's
// programs run with their working directory in test/lab (make runs them with
// `go -C test/lab`), and what they work on (the service's go.mod, cmd/, docs/,
// .devdb/, the manifests) is at the root.
package repo

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/example/orders/infrastructure/servicename"
)

// Root walks up from the working directory to the directory whose go.mod is the
// service's (module servicename.ModulePath), past the lab's own go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == servicename.ModulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of module " + servicename.ModulePath + " above the working directory")
		}
		dir = parent
	}
}

// modulePath is the module line of the go.mod file at p, or "".
func modulePath(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
