package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestKeyedCommandsWithoutIfMatchAreRetriedNot412: a command with an Idempotency-Key
// but no If-Match that loses the optimistic race must be retried by the service like a
// command without a key (openapi.yaml: "Without If-Match the server retries internally
// on concurrent modification"), never answered 412 version_mismatch, which names an
// If-Match the client did not send; and sending the same request with the same key
// again must not replay such an answer forever.
func TestKeyedCommandsWithoutIfMatchAreRetriedNot412(t *testing.T) {
	t.Parallel()
	base := startServer(t, map[string]string{"COMMAND_ATTEMPTS": "30"})
	c := newClient(t, base)
	o := placeOrder(t, c, uniqueCustomer("keyed-race"))
	lines := base + "/orders/" + o.Id.String() + "/lines"
	const n = 16
	results := make([]*response, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			r, err := tryDo(http.MethodPost, lines, fmt.Sprintf(`{"sku":"K-%02d","quantity":1,"unit_price_cents":100}`, i),
				"Idempotency-Key", fmt.Sprintf("%s-k%d", o.Id, i))
			if err != nil {
				t.Error(err)
				r = &response{}
			}
			results[i] = r
		})
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		if r.Status == http.StatusOK {
			continue
		}
		t.Errorf("request %d (Idempotency-Key, no If-Match): %s", i, r)
		again, err := tryDo(http.MethodPost, lines, fmt.Sprintf(`{"sku":"K-%02d","quantity":1,"unit_price_cents":100}`, i),
			"Idempotency-Key", fmt.Sprintf("%s-k%d", o.Id, i))
		if err == nil && again.Status != http.StatusOK {
			t.Errorf("request %d sent again with its key, the order quiet now: %d (Idempotency-Replayed %q)", i, again.Status, again.Header.Get("Idempotency-Replayed"))
		}
	}
}
