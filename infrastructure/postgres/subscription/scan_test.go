package subscription_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// A partition reads at most a bounded scan of the log per read; when a scan is full
// and holds none (or too few) of its own events, it goes on from the last row it
// scanned, not from the horizon: its events beyond the scan are read, not passed over.
// Here one stream of 40 events fills partition 0's scans of 20 rows (batches of 5 of 2
// partitions) and partition 1's one event comes after all of them.
func TestAPartitionReadsPastAScanWithoutItsEvents(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	partitionOf := func(id string) int {
		var p int
		if err := pool.QueryRow(ctx, `SELECT `+subscription.PartitionOf("'test'", "$1::text", "2"), id).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	busy := uuid.NewString()
	other := uuid.NewString()
	for partitionOf(other) == partitionOf(busy) {
		other = uuid.NewString()
	}
	data := make([]eventstore.EventData, 40)
	for i := range data {
		data[i] = eventstore.EventData{Type: "E", SchemaVersion: 1, Payload: json.RawMessage(`{}`)}
	}
	if _, err := eventstore.Append(ctx, pool, eventstore.StreamID{Type: "test", ID: busy}, eventstore.NoStream(), data); err != nil {
		t.Fatal(err)
	}
	if _, err := eventstore.Append(ctx, pool, eventstore.StreamID{Type: "test", ID: other}, eventstore.NoStream(), data[:1]); err != nil {
		t.Fatal(err)
	}
	opts := partitionOptions("a", 2)
	opts.BatchSize = 5
	start(t, pool, opts, applyLog("proj", nil))
	checkAppliedOnce(t, pool, "proj")
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM applied WHERE stream = $1`, other).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the other partition's event applied %d times (%v), want once", n, err)
	}
}
