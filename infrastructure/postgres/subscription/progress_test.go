package subscription_test

import (
	"sync"
	"testing"
	"time"

	"github.com/example/orders/test/pgtest"
)

// OnProgress is told every move of a partition's checkpoint after its commit, an idle
// partition's too (its checkpoint follows the log past other partitions' events): a
// reader waiting for the consumer's watermark hears of each partition reaching the end
// of the log. Of two partitions, one gets the last event (its stream's) and the other
// moves past it idle; both are told.
func TestOnProgressIsToldEveryPartitionsMove(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 12)
	var mu sync.Mutex
	told := map[int64]int{} // position -> moves told
	opts := partitionOptions("a", 2)
	opts.OnProgress = func(consumer string, position int64) {
		mu.Lock()
		defer mu.Unlock()
		if consumer == "proj" {
			told[position]++
		}
	}
	rt, _ := start(t, pool, opts, applyLog("proj", nil))
	checkAppliedOnce(t, pool, "proj")
	last := appendCommitted(t, pool, "Last", 1)[0] // one stream: one partition's
	rt.Wake()
	checkAppliedOnce(t, pool, "proj")
	eventually(t, 5*time.Second, "both partitions told at the last event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return told[last.Position] >= 2
	})
}
