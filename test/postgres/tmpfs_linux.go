package postgres

import (
	"os"

	"golang.org/x/sys/unix"
)

// fastTempDir returns /dev/shm when it is a tmpfs with room to spare, else "" (the
// default temporary directory). Creating a database creates some 300 files; on tmpfs
// that takes a few milliseconds, on some virtual disks a quarter of a second, and
// every test creates one. Throwaway clusters do not need a disk.
func fastTempDir() string {
	const dir = "/dev/shm"
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		return ""
	}
	// Docker gives containers a 64 MB /dev/shm; a cluster needs more than that.
	if st.Bavail*uint64(st.Bsize) < 1<<30 { //nolint:gosec // a block size is positive
		return ""
	}
	if f, err := os.CreateTemp(dir, "pg-probe-"); err == nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return dir
	}
	return ""
}
