package eventstore

import "fmt"

// ExpectedVersion is what an appender believes about the stream's current version: an
// exact version, 0 for a stream with no events yet. The zero value is NoStream.
type ExpectedVersion struct {
	kind    expectation
	version int64
}

type expectation uint8

const (
	expectNoStream expectation = iota
	expectExact
)

// NoStream appends only if the stream has no events yet.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// Exact appends only if the stream is at exactly version v. Exact(0) is NoStream.
func Exact(v int64) ExpectedVersion {
	if v <= 0 {
		return NoStream()
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// Version returns the version expected; NoStream is version 0.
func (e ExpectedVersion) Version() int64 {
	if e.kind == expectExact {
		return e.version
	}
	return 0
}

func (e ExpectedVersion) String() string {
	if e.kind == expectExact {
		return fmt.Sprintf("version %d", e.version)
	}
	return "no stream"
}
