package subscription

import (
	"context"
	"fmt"
	"math"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// readAfter returns up to limit events after position, in position order, none past
// the log's horizon (eventstore.Horizon): the reader the feed uses. Below the horizon
// the log can no longer change, so a consumer that moves its checkpoint to the last
// event it read never passes one that commits later; and one stream's positions follow
// its versions, because an append draws its positions only once it holds the stream's
// head row. hint, when above position, is a horizon known from an earlier read, which
// a consumer working through a backlog reuses instead of sampling again.
//
// held reports committed events beyond the horizon, waiting for an older transaction
// to end (or, after a read up to a hint, that it cannot tell): the consumer reads again
// soon rather than waiting for a notification that such a transaction (a consumer's
// own, a migration) may never send, or that came while it worked through a backlog.
func readAfter(ctx context.Context, db eventstore.DBTX, h *eventstore.Horizon, position, hint int64, limit int) (events []eventstore.RecordedEvent, horizon int64, held bool, err error) {
	horizon, latest := hint, int64(math.MaxInt64) // with a hint, what lies beyond it is unknown: held
	if horizon <= position {
		if horizon, latest, err = h.Bounds(ctx, db); err != nil {
			return nil, 0, false, err
		}
		if horizon <= position {
			return nil, horizon, latest > horizon, nil
		}
	}
	page, err := eventstore.ReadFeed(ctx, db, h, eventstore.FeedQuery{After: position, Limit: limit, HorizonHint: horizon})
	if err != nil {
		return nil, 0, false, fmt.Errorf("subscription: read after %d: %w", position, err)
	}
	return page.Events, horizon, latest > horizon, nil
}
