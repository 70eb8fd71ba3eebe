package aggregatestore

import (
	"context"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// Reads is the read side every aggregate's queries share (appkit.OwnedReads): its read
// model (Overview: ByID, and List for the aggregate's own filters) and its streams'
// events (Events) for history and time travel. An aggregate's queries embed one and
// add their list.
type Reads[S, E any] struct {
	Overview[S]
	Streams *Store[S, E] // read only, through History: a Store without a state cache
}

// Events returns the stream's events within r.
func (q Reads[S, E]) Events(ctx context.Context, id uuid.UUID, r appkit.EventRange) ([]appkit.RecordedEvent[E], error) {
	return q.Streams.History(ctx, id, eventstore.StreamRange{From: r.From, To: r.To, Until: r.Until})
}

// UsePersonalData has the reads open the personal data they show with keys.
func (q *Reads[S, E]) UsePersonalData(keys *personaldata.Keys) {
	q.Personal = keys
	q.Streams.UsePersonalData(keys)
}
