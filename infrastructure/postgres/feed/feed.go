// Package feed serves the whole event log to consumers outside the service: pages
// that never pass an event still to commit (eventstore.ReadFeed), and a per-process
// hub that tells every open stream when the log's horizon moves, woken by PostgreSQL
// notifications on <service>_events when a writer sends them and by polling otherwise.
package feed

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/infrastructure/servicename"
)

// Channel is the NOTIFY channel writers use after a commit (payload empty or the
// highest committed position); the feed only needs to be woken by it.
const Channel = servicename.Name + "_events"

// Query is a page request; see eventstore.FeedQuery.
type Query = eventstore.FeedQuery

// Page is one page of the log; see eventstore.FeedPage.
type Page = eventstore.FeedPage

// Feed reads the log and follows its horizon for one process.
type Feed struct {
	pool    *pgxpool.Pool
	keys    *personaldata.Keys
	horizon eventstore.Horizon
	poll    time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	head    int64         // the horizon the hub last saw
	changed chan struct{} // closed (and replaced) when head moves
	users   int           // open streams; the hub polls only when there are some
	wake    chan struct{}
}

// New returns a feed over pool that polls the horizon every poll (1s if zero) while
// streams are open, and shows personal data opened with keys (or erased). Run must be
// running for streams to advance.
func New(pool *pgxpool.Pool, poll time.Duration, keys *personaldata.Keys, log *slog.Logger) *Feed {
	if poll <= 0 {
		poll = time.Second
	}
	return &Feed{pool: pool, keys: keys, poll: poll, log: log, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// Page reads one page, with a fresh horizon.
func (f *Feed) Page(ctx context.Context, q Query) (Page, error) {
	p, err := eventstore.ReadFeed(ctx, f.pool, &f.horizon, q)
	if err != nil {
		return p, postgres.Classify(err)
	}
	return f.open(ctx, p)
}

// open shows the page's personal data opened, or erased: the feed is an answer too.
func (f *Feed) open(ctx context.Context, p Page) (Page, error) {
	payloads := make([][]byte, len(p.Events))
	for i, e := range p.Events {
		payloads[i] = e.Payload
	}
	opened, err := f.keys.OpenPayloads(ctx, f.pool, payloads)
	if err != nil {
		return p, postgres.Classify(err)
	}
	for i := range p.Events {
		p.Events[i].Payload = opened[i]
	}
	return p, nil
}

// PageUpTo reads one page up to a horizon the caller got from Head (no sampling).
func (f *Feed) PageUpTo(ctx context.Context, q Query, horizon int64) (Page, error) {
	if horizon <= q.After {
		return Page{Events: []eventstore.RecordedEvent{}, NextAfter: q.After, AtHead: true, Horizon: horizon}, nil
	}
	q.HorizonHint = horizon
	p, err := eventstore.ReadFeed(ctx, f.pool, &f.horizon, q)
	if err != nil {
		return p, postgres.Classify(err)
	}
	return f.open(ctx, p)
}

// Subscribe registers a stream; the returned function unregisters it.
func (f *Feed) Subscribe() func() {
	f.mu.Lock()
	f.users++
	f.mu.Unlock()
	f.Wake()
	return func() {
		f.mu.Lock()
		f.users--
		f.mu.Unlock()
	}
}

// Head returns the horizon the hub last saw and a channel closed when it moves.
func (f *Feed) Head() (int64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.head, f.changed
}

// Wake makes the hub look at the horizon now.
func (f *Feed) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run moves the hub's horizon until ctx ends: on every notification on Channel, and
// every poll interval while streams are open. It listens on a dedicated connection
// and reconnects with backoff; without notifications it still works by polling.
func (f *Feed) Run(ctx context.Context) {
	go subscription.Listen(ctx, f.pool.Config().ConnConfig, Channel, f.Wake, f.log.With("component", "feed"))
	tick := time.NewTicker(f.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-f.wake:
		}
		f.mu.Lock()
		users := f.users
		f.mu.Unlock()
		if users == 0 {
			continue
		}
		h, err := f.horizon.Safe(ctx, f.pool)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("feed: read the horizon", "error", err.Error())
			}
			continue
		}
		f.mu.Lock()
		if h > f.head {
			f.head = h
			close(f.changed)
			f.changed = make(chan struct{})
		}
		f.mu.Unlock()
	}
}
