//go:build unix

package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runner runs the server programs. initdb and postgres refuse to run as root, so when
// we are root (containers, CI images) they run as the postgres OS user, which the
// PostgreSQL packages create, and the directories they write must belong to it.
type runner struct {
	cred *syscall.Credential // nil: run as ourselves
}

func newRunner() (runner, error) {
	if os.Geteuid() != 0 {
		return runner{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runner{}, fmt.Errorf("running as root, which initdb refuses, and there is no postgres OS user to run PostgreSQL as (%w); create one (useradd --system postgres) or run as a normal user", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return runner{}, fmt.Errorf("postgres OS user has a non-numeric uid/gid %q/%q", u.Uid, u.Gid)
	}
	return runner{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
}

func (r runner) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	return cmd
}

// own hands paths we created to the user the server runs as.
func (r runner) own(paths ...string) error {
	if r.cred == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Lchown(p, int(r.cred.Uid), int(r.cred.Gid)); err != nil {
			return fmt.Errorf("chown %s to postgres: %w", p, err)
		}
	}
	return nil
}

// alive reports whether a process with this pid exists (EPERM: it exists but belongs
// to another user, e.g. a server started by root as postgres).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// reachable checks that the server user may enter every directory down to dir, so
// that a data directory under a private one (/root, a 0700 test temp dir) gives an
// error that says so rather than "permission denied" from exec.
func (r runner) reachable(dir string) error {
	if r.cred == nil {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			st, ok := fi.Sys().(*syscall.Stat_t)
			if ok {
				perm := fi.Mode().Perm()
				var x bool
				switch {
				case st.Uid == r.cred.Uid:
					x = perm&0o100 != 0
				case st.Gid == r.cred.Gid:
					x = perm&0o010 != 0
				default:
					x = perm&0o001 != 0
				}
				if !x {
					return fmt.Errorf("the postgres OS user (PostgreSQL refuses to run as root) cannot enter %s (mode %v, owner uid %d): put the data directory somewhere it can reach, or chmod o+x %s", d, perm, st.Uid, d)
				}
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
