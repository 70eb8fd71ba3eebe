package testsupport

import (
	"time"

	"github.com/example/orders/application/appkit"
)

// Recorded is events as the store records them from version from on, all at at: what
// a projection is given, for tests that run one by hand.
func Recorded[E any](from int64, at time.Time, events ...E) []appkit.RecordedEvent[E] {
	out := make([]appkit.RecordedEvent[E], len(events))
	for i, e := range events {
		out[i] = appkit.RecordedEvent[E]{Event: e, Version: from + int64(i), RecordedAt: at}
	}
	return out
}
