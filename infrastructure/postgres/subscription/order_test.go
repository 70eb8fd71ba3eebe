package subscription_test

import (
	"testing"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
)

// An OrderError names the stream, the version it got and where, the version it
// expected, and where the consumer last saw the stream (the version before the
// expected one): what an operator needs to find both events in the log.
func TestOrderErrorSaysWhatWasExpectedAndWhere(t *testing.T) {
	s := eventstore.StreamID{Type: "test", ID: "a"}
	for _, c := range []struct {
		err  subscription.OrderError
		want string
	}{
		{subscription.OrderError{Stream: s, Want: 3, Got: 5, Position: 9, AfterPosition: 7},
			"test/a out of order: version 5 at position 9, but version 3 was expected next (version 2 was at position 7)"},
		{subscription.OrderError{Stream: s, Want: 1, Got: 2, Position: 4},
			"test/a out of order: version 2 at position 4 is the first this consumer was given, but version 1 was expected first"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.err, got, c.want)
		}
	}
}
