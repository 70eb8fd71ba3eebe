package testsupport

import (
	"fmt"
	"sort"

	"github.com/example/orders/api"
)

// StreamOrder checks events as a consumer of the feed or the event stream received
// them against the log: strictly increasing positions, every stream's versions exactly
// 1..n in order and each once, n being lengths["type/id"] (the stream's number of
// events in the log), and no stream the log does not have. It returns what differs,
// one line each; none means the order holds.
func StreamOrder(events []api.FeedEvent, lengths map[string]int64) []string {
	var bad []string
	next := map[string]int64{}
	var lastPos int64
	for _, e := range events {
		if e.Position <= lastPos {
			bad = append(bad, fmt.Sprintf("position %d after %d", e.Position, lastPos))
		}
		lastPos = e.Position
		k := e.StreamType + "/" + e.StreamId
		if e.Version != next[k]+1 {
			bad = append(bad, fmt.Sprintf("stream %s: version %d (position %d) after version %d", k, e.Version, e.Position, next[k]))
		}
		next[k] = max(next[k], e.Version)
	}
	keys := make([]string, 0, len(lengths))
	for k := range lengths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if next[k] != lengths[k] {
			bad = append(bad, fmt.Sprintf("stream %s: received up to version %d, the log has %d events", k, next[k], lengths[k]))
		}
	}
	for k := range next {
		if _, ok := lengths[k]; !ok {
			bad = append(bad, fmt.Sprintf("stream %s received, not in the log", k))
		}
	}
	return bad
}
