package postgres

import (
	"fmt"
	"net"
	"strconv"
)

// freePort asks the kernel for a TCP port on 127.0.0.1 that is free right now. Another
// process may take it before the server binds it; StartLocal retries on that.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether nothing listens on 127.0.0.1:port, so that a fixed port
// that is taken gives a clear error instead of a server log to read.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
