//go:build !unix

package postgres

import (
	"context"
	"errors"
	"io"
	"time"
)

// LocalOptions configure a server run from the PostgreSQL binaries of this machine.
// Only Unix-like systems are supported.
type LocalOptions struct {
	DataDir        string
	Port           int
	Database       string
	Ephemeral      bool
	MaxConnections int
	RemoveOnStop   bool
	BinDir         string
	StartTimeout   time.Duration
	Log            io.Writer
}

// ErrNotRunning means that no server runs where one was looked for.
var ErrNotRunning = errors.New("not running")

var errLocalUnsupported = errors.New("local PostgreSQL binaries are only supported on Unix-like systems; use Docker or TEST_DATABASE_URL")

// StartLocal is not supported on this system.
func StartLocal(context.Context, LocalOptions) (*Server, error) { return nil, errLocalUnsupported }

// AttachLocal is not supported on this system.
func AttachLocal(context.Context, LocalOptions) (*Server, error) { return nil, errLocalUnsupported }

// StopLocal is not supported on this system.
func StopLocal(context.Context, LocalOptions) error { return errLocalUnsupported }

func probeLocal(string) (binaries, error) { return binaries{}, errLocalUnsupported }
