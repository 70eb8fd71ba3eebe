package subscription

import (
	"fmt"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// OrderError means the log handed a consumer a stream's event out of version order:
// not the version after the last one this consumer handled of that stream. The
// reader makes that impossible (readAfter); if it ever happens, the consumer stops at
// the event with this error rather than apply it, or skip the one it missed.
type OrderError struct {
	Stream        eventstore.StreamID
	Want, Got     int64
	Position      int64
	AfterPosition int64 // where the consumer last saw the stream
}

func (e *OrderError) Error() string {
	if e.Want == 1 {
		return fmt.Sprintf("%s out of order: version %d at position %d is the first this consumer was given, but version 1 was expected first",
			e.Stream, e.Got, e.Position)
	}
	return fmt.Sprintf("%s out of order: version %d at position %d, but version %d was expected next (version %d was at position %d)",
		e.Stream, e.Got, e.Position, e.Want, e.Want-1, e.AfterPosition)
}

// streamOrder remembers, per stream, the last version a consumer handled since the
// checkpoint it started from, so that every later event of the stream is checked to
// be the next version. It forgets everything at maxStreams, and when the checkpoint
// moves other than by this consumer; a stream it does not know is checked only when
// it has followed the log from its start (complete): then it must begin at version 1.
type streamOrder struct {
	last     map[eventstore.StreamID]seen
	at       int64 // the checkpoint these versions lead to
	complete bool  // every stream handled since position 0 is in last
}

type seen struct{ version, position int64 }

const maxStreams = 100_000

// check returns the index of the first event that is not its stream's next version,
// and why; -1 when all are.
func (o *streamOrder) check(events []eventstore.RecordedEvent) (int, error) {
	batch := map[eventstore.StreamID]seen{}
	for i, e := range events {
		prev, ok := batch[e.Stream]
		if !ok {
			prev, ok = o.last[e.Stream]
		}
		if !ok && o.complete {
			prev, ok = seen{}, true
		}
		if ok && e.Version != prev.version+1 {
			return i, &OrderError{Stream: e.Stream, Want: prev.version + 1, Got: e.Version, Position: e.Position, AfterPosition: prev.position}
		}
		batch[e.Stream] = seen{e.Version, e.Position}
	}
	return -1, nil
}

// handled records the events up to and including position as handled.
func (o *streamOrder) handled(events []eventstore.RecordedEvent, position int64) {
	if len(o.last) > maxStreams {
		o.last, o.complete = map[eventstore.StreamID]seen{}, false
	}
	for _, e := range events {
		if e.Position > position {
			break
		}
		o.last[e.Stream] = seen{e.Version, e.Position}
	}
	o.at = max(o.at, position)
}

// from forgets what it knows unless the checkpoint is where this consumer left it
// (an operator's reset or skip, or another owner, moved it). skipping is true while
// the partition passes over events a previous set of partitions handled: a stream's
// first event it is given need not be version 1 then, even from position 0.
func (o *streamOrder) from(checkpoint int64, skipping bool) {
	if checkpoint != o.at || o.last == nil {
		o.last, o.at, o.complete = map[eventstore.StreamID]seen{}, checkpoint, checkpoint == 0 && !skipping
	}
}
