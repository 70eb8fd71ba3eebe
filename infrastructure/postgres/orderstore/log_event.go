package orderstore

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// DecodeEvent is an event of the log as an order consumer reads it: the order's id and
// the decoded event, or ok false for an event of another stream type.
func DecodeEvent(codec *eventcodec.Registry[order.Event], e eventstore.RecordedEvent) (id uuid.UUID, ev order.Event, ok bool, err error) {
	if e.Stream.Type != StreamType {
		return uuid.Nil, nil, false, nil
	}
	id, err = uuid.Parse(e.Stream.ID)
	if err != nil {
		return uuid.Nil, nil, false, fmt.Errorf("order stream id %q: %w", e.Stream.ID, err)
	}
	ev, err = codec.Decode(e.Type, e.SchemaVersion, e.Payload)
	if err != nil {
		return uuid.Nil, nil, false, err
	}
	return id, ev, true, nil
}
