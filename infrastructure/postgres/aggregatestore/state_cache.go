package aggregatestore

import (
	"container/list"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
)

// stateCache keeps the folded state of recently written streams with its version, so a
// command reads only the events after that version instead of the whole stream: the
// cost of a command stays flat as a stream grows.
//
// It needs no invalidation. The cache holds only committed states, a load always reads
// whatever the database has beyond the cached version (written by this process or any
// other replica), and the append's version check rejects anything decided on a stale
// state. Cached states are never modified: a decider's Evolve and Fold return new
// states without writing into the ones they were given.
type stateCache[S any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *cacheEntry[S]
	byID  map[uuid.UUID]*list.Element
}

type cacheEntry[S any] struct {
	id     uuid.UUID
	view   appkit.Versioned[S]
	missed time.Time // when a command last found this state stale
}

// hotFor is how long a stream whose cached state was found stale is read before every
// command instead of being trusted: under contention the unread attempt mostly fails,
// and each failure is a wasted batch.
const hotFor = 2 * time.Second

func newStateCache[S any](capacity int) *stateCache[S] {
	return &stateCache[S]{max: capacity, order: list.New(), byID: map[uuid.UUID]*list.Element{}}
}

// get returns the cached state, or ok=false; a nil cache caches nothing. hot says the
// state was found stale within hotFor.
func (c *stateCache[S]) get(id uuid.UUID) (view appkit.Versioned[S], ok, hot bool) {
	if c == nil {
		return appkit.Versioned[S]{}, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return appkit.Versioned[S]{}, false, false
	}
	c.order.MoveToFront(el)
	e := el.Value.(*cacheEntry[S])
	return e.view, true, !e.missed.IsZero() && time.Since(e.missed) < hotFor
}

// missed records that a command found the cached state of id stale.
func (c *stateCache[S]) missed(id uuid.UUID) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		el.Value.(*cacheEntry[S]).missed = time.Now()
	}
}

// put stores view unless a newer version is already cached (another command on the
// same stream may have committed after this one).
func (c *stateCache[S]) put(id uuid.UUID, view appkit.Versioned[S]) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		e := el.Value.(*cacheEntry[S])
		if view.Version > e.view.Version {
			e.view = view
		}
		c.order.MoveToFront(el)
		return
	}
	c.byID[id] = c.order.PushFront(&cacheEntry[S]{id: id, view: view})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byID, oldest.Value.(*cacheEntry[S]).id)
	}
}
