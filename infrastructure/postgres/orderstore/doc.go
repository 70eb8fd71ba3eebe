// Package orderstore is the PostgreSQL side of the order use cases: it implements the
// application's ports with the event store, the event codec and the order_overview
// read model.
package orderstore

import "github.com/example/orders/infrastructure/postgres/eventstore"

// StreamType is the stream type of every order stream; the stream id is the order id.
const StreamType = "order"

func streamOf(id interface{ String() string }) eventstore.StreamID {
	return eventstore.StreamID{Type: StreamType, ID: id.String()}
}
