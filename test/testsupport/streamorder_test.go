package testsupport

import (
	"strings"
	"testing"

	"github.com/example/orders/api"
)

func TestStreamOrder(t *testing.T) {
	ev := func(pos int64, stream string, v int64) api.FeedEvent {
		return api.FeedEvent{Position: pos, StreamType: "order", StreamId: stream, Version: v}
	}
	lengths := map[string]int64{"order/a": 3, "order/b": 2}
	for _, tc := range []struct {
		name   string
		events []api.FeedEvent
		want   string // in the first problem; "" for none
	}{
		{"in order", []api.FeedEvent{ev(1, "a", 1), ev(2, "b", 1), ev(3, "a", 2), ev(5, "a", 3), ev(9, "b", 2)}, ""},
		{"a stream reordered", []api.FeedEvent{ev(1, "a", 1), ev(2, "b", 1), ev(3, "a", 3), ev(5, "a", 2), ev(9, "b", 2)}, "stream order/a: version 3 (position 3) after version 1"},
		{"a version skipped", []api.FeedEvent{ev(1, "a", 1), ev(2, "b", 1), ev(5, "a", 3), ev(9, "b", 2)}, "stream order/a: version 3 (position 5) after version 1"},
		{"a version twice", []api.FeedEvent{ev(1, "a", 1), ev(2, "b", 1), ev(3, "a", 2), ev(4, "a", 2), ev(5, "a", 3), ev(9, "b", 2)}, "stream order/a: version 2 (position 4) after version 2"},
		{"an event twice", []api.FeedEvent{ev(1, "a", 1), ev(2, "b", 1), ev(2, "b", 1), ev(3, "a", 2), ev(5, "a", 3), ev(9, "b", 2)}, "position 2 after 2"},
		{"the end missing", []api.FeedEvent{ev(1, "a", 1), ev(2, "b", 1), ev(3, "a", 2), ev(5, "a", 3)}, "stream order/b: received up to version 1, the log has 2 events"},
		{"a stream not in the log", []api.FeedEvent{ev(1, "a", 1), ev(2, "b", 1), ev(3, "a", 2), ev(5, "a", 3), ev(6, "c", 1), ev(9, "b", 2)}, "stream order/c received, not in the log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := StreamOrder(tc.events, lengths)
			switch {
			case tc.want == "" && len(bad) > 0:
				t.Fatalf("problems %q, want none", bad)
			case tc.want != "" && (len(bad) == 0 || !strings.Contains(bad[0], tc.want)):
				t.Fatalf("problems %q, want first %q", bad, tc.want)
			}
		})
	}
}
