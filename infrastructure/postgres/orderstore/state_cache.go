package orderstore

import (
	"container/list"
	"sync"

	"github.com/google/uuid"

	"github.com/example/orders/application"
)

// stateCache keeps the folded state of recently written orders with its version, so a
// command reads only the events after that version instead of the whole stream: the
// cost of a command stays flat as an order's history grows.
//
// It needs no invalidation. The cache holds only committed states, a load always reads
// whatever the database has beyond the cached version (written by this process or any
// other replica), and the append's version check rejects anything decided on a stale
// state. Cached states are never modified: order.Fold copies lines before appending.
type stateCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *cacheEntry
	byID  map[uuid.UUID]*list.Element
}

type cacheEntry struct {
	id   uuid.UUID
	view application.OrderView
}

func newStateCache(max int) *stateCache {
	return &stateCache{max: max, order: list.New(), byID: map[uuid.UUID]*list.Element{}}
}

func (c *stateCache) get(id uuid.UUID) (application.OrderView, bool) {
	if c == nil {
		return application.OrderView{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return application.OrderView{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).view, true
}

// put stores view unless a newer version is already cached (another command on the
// same order may have committed after this one).
func (c *stateCache) put(id uuid.UUID, view application.OrderView) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		e := el.Value.(*cacheEntry)
		if view.Version > e.view.Version {
			e.view = view
		}
		c.order.MoveToFront(el)
		return
	}
	c.byID[id] = c.order.PushFront(&cacheEntry{id: id, view: view})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byID, oldest.Value.(*cacheEntry).id)
	}
}
