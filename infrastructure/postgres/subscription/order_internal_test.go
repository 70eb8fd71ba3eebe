package subscription

import (
	"errors"
	"fmt"
	"testing"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// streamOrder remembers the streams a consumer has handled across batches, up to
// maxStreams of them: a stream's next event is checked against the version before it
// whatever other streams' batches came in between, and a stream that does not begin at
// version 1 is seen while it knows every stream since position 0. It forgets (and stops
// checking the streams it forgot) only once it knows more than maxStreams.
func TestStreamOrderRemembersUpToMaxStreamsAcrossBatches(t *testing.T) {
	ev := func(id string, version, position int64) eventstore.RecordedEvent {
		return eventstore.RecordedEvent{Stream: eventstore.StreamID{Type: "test", ID: id}, Version: version, Position: position}
	}
	var o streamOrder
	o.from(0, false)
	o.handled([]eventstore.RecordedEvent{ev("a", 1, 1)}, 1)
	o.handled([]eventstore.RecordedEvent{ev("b", 1, 2)}, 2) // another stream's batch
	var order *OrderError
	if i, err := o.check([]eventstore.RecordedEvent{ev("a", 3, 3)}); i != 0 || !errors.As(err, &order) || order.Want != 2 || order.AfterPosition != 1 {
		t.Fatalf("a gap in a stream after another stream's batch: %d, %v", i, err)
	}
	if i, err := o.check([]eventstore.RecordedEvent{ev("c", 2, 3)}); i != 0 || !errors.As(err, &order) || order.Want != 1 {
		t.Fatalf("a stream that does not begin at version 1, after other batches: %d, %v", i, err)
	}

	// Exactly maxStreams known: still every one is checked.
	batch := make([]eventstore.RecordedEvent, 0, maxStreams)
	for i := range maxStreams - 2 {
		batch = append(batch, ev(fmt.Sprint("s", i), 1, int64(3+i)))
	}
	o.handled(batch, batch[len(batch)-1].Position)
	if len(o.last) != maxStreams {
		t.Fatalf("setup: %d streams known, want %d", len(o.last), maxStreams)
	}
	at := o.at
	o.handled(nil, at) // an idle move at the bound
	if i, err := o.check([]eventstore.RecordedEvent{ev("a", 3, at+1)}); i != 0 || !errors.As(err, &order) || order.Want != 2 {
		t.Fatalf("a gap with exactly maxStreams streams known: %d, %v", i, err)
	}
	// One more, and it forgets: what it no longer knows it cannot check.
	o.handled([]eventstore.RecordedEvent{ev("d", 1, at+1)}, at+1)
	o.handled(nil, at+1)
	if i, err := o.check([]eventstore.RecordedEvent{ev("a", 3, at+2)}); i != -1 || err != nil {
		t.Fatalf("after forgetting: %d, %v", i, err)
	}
}
