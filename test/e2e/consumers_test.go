package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/api"
)

// TestConsumersOverTheAPI: GET /consumers shows staff every consumer partition as
// `orders consumers status` does, catching up with an order just placed; a customer
// gets 403 (the consumers' names and errors are the operators' business) and a
// caller without a token 401.
func TestConsumersOverTheAPI(t *testing.T) {
	t.Parallel()
	base := startServer(t, map[string]string{"RUN_CONSUMERS": "true"})
	c := newClient(t, base)
	placed := do(t, http.MethodPost, base+"/orders", `{"customer_id":"`+uniqueCustomer("consumers")+`","currency":"EUR"}`)
	if placed.Status != http.StatusCreated {
		t.Fatalf("place: %s", placed)
	}
	position := mustInt(t, placed.Header.Get("X-Event-Position"))

	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := c.ListConsumersWithResponse(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != http.StatusOK || r.JSON200 == nil {
			t.Fatalf("staff: %d %s", r.StatusCode(), r.Body)
		}
		if caughtUp(r.JSON200.Items, position) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running consumer reached position %d: %s", position, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	checkProblem(t, "customer", do(t, http.MethodGet, base+"/consumers", "", as("alice", "")...), http.StatusForbidden, "forbidden")
	checkProblem(t, "events:read", do(t, http.MethodGet, base+"/consumers", "", as("feed-reader", "events:read")...), http.StatusForbidden, "forbidden")
	checkProblem(t, "no token", do(t, http.MethodGet, base+"/consumers", "", noAuth...), http.StatusUnauthorized, "unauthorized")
}

// caughtUp: every partition is running and owned, without error, and the customer
// summary is past position.
func caughtUp(items []api.ConsumerStatus, position int64) bool {
	summary := false
	for _, s := range items {
		if s.State != api.ConsumerStatusStateRunning || s.Owner == nil || s.Error != nil || s.Partitions < 1 {
			return false
		}
		if strings.HasPrefix(s.Name, "customer_summary") && s.Position >= position {
			summary = true
		}
	}
	return summary
}
