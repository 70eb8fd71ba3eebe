package eventstore

import "fmt"

// ExpectedVersion is what an appender believes about the stream's current version.
// The zero value is Any.
type ExpectedVersion struct {
	kind    expectation
	version int64
}

type expectation uint8

const (
	expectAny expectation = iota
	expectNoStream
	expectExact
	expectStreamExists
)

// Any appends whatever the stream's version is.
func Any() ExpectedVersion { return ExpectedVersion{kind: expectAny} }

// NoStream appends only if the stream has no events yet.
func NoStream() ExpectedVersion { return ExpectedVersion{kind: expectNoStream} }

// StreamExists appends only if the stream has at least one event.
func StreamExists() ExpectedVersion { return ExpectedVersion{kind: expectStreamExists} }

// Exact appends only if the stream is at exactly version v. Exact(0) is NoStream.
func Exact(v int64) ExpectedVersion {
	if v <= 0 {
		return NoStream()
	}
	return ExpectedVersion{kind: expectExact, version: v}
}

// Version returns the exact version expected and whether there is one; NoStream counts
// as exact version 0.
func (e ExpectedVersion) Version() (int64, bool) {
	switch e.kind {
	case expectExact:
		return e.version, true
	case expectNoStream:
		return 0, true
	}
	return 0, false
}

func (e ExpectedVersion) String() string {
	switch e.kind {
	case expectNoStream:
		return "no stream"
	case expectExact:
		return fmt.Sprintf("version %d", e.version)
	case expectStreamExists:
		return "stream exists"
	}
	return "any"
}
