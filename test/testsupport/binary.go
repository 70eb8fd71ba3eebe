package testsupport

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/example/orders/infrastructure/servicename"
)

// BuildService builds the service's binary (./cmd/<name>) of the module at root and
// returns its path, for the harnesses that run it as a process (e2e, reliability, the
// console's browser tests). pgtest.Main ends the process with os.Exit, so a per-run
// temporary directory could never be removed; the binary goes to one fixed place per
// checkout instead, overwritten by each build atomically by rename, so that a
// concurrent run still executing the old file is not disturbed.
func BuildService(root string) (string, error) {
	goBin := "go"
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if p := filepath.Join(strings.TrimSpace(string(out)), "bin", "go"); isFile(p) {
			goBin = p
		}
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), servicename.Name+"-bin-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // a build cache shared by test processes, nothing secret
		return "", err
	}
	tmp, err := os.CreateTemp(dir, servicename.Name+"-*.tmp")
	if err != nil {
		return "", err
	}
	_ = tmp.Close()
	defer func() { _ = os.Remove(tmp.Name()) }()                                     // gone after the rename; removes the leftover on failure
	cmd := exec.Command(goBin, "build", "-o", tmp.Name(), "./cmd/"+servicename.Name) //nolint:gosec // the go tool on a fixed package
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", servicename.Name, err, out)
	}
	final := filepath.Join(dir, servicename.Name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	return final, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
