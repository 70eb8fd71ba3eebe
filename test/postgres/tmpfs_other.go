//go:build !linux

package postgres

// fastTempDir: only Linux is known to have a tmpfs at a fixed place.
func fastTempDir() string { return "" }
