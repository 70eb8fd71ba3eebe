package subscription_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

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

// A batch smaller than the number of partitions still reads: a partition's scan is a
// multiple of the batch, never empty, so batches of one event over two partitions
// reach the end of the log.
func TestBatchesOfOneEventOverTwoPartitionsReachTheEnd(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "E", 8)
	opts := partitionOptions("a", 2)
	opts.BatchSize = 1
	start(t, pool, opts, applyLog("proj", nil))
	checkAppliedOnce(t, pool, "proj")
}

// A consumer of one partition that still passes over what a previous set of partitions
// handled (its skip, after N went down to 1) reads the log by partition scans: it
// passes over the events at or below the skip's positions and applies the rest, each
// once.
func TestOnePartitionWithASkipPassesOverWhatTheOldSetHandled(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	e := appendCommitted(t, pool, "E", 6)
	// The old set of 2 had handled everything up to the third event in both partitions.
	if _, err := pool.Exec(ctx, `INSERT INTO consumer_checkpoints (name, partitions, partition, position, skip_partitions, skip_positions)
		VALUES ('proj', 1, 0, 0, 2, ARRAY[$1::bigint, $1::bigint])`, e[2].Position); err != nil {
		t.Fatal(err)
	}
	opts := fastOptions("a")
	opts.BatchSize = 2
	start(t, pool, opts, applyLog("proj", nil))
	eventually(t, 10*time.Second, "the consumer reaches the end of the log", func() bool { return status(t, pool, "proj").Position >= e[5].Position })
	var applied []int64
	rows, err := pool.Query(ctx, `SELECT position FROM applied WHERE consumer = 'proj' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		applied = append(applied, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []int64{e[3].Position, e[4].Position, e[5].Position}; !slices.Equal(applied, want) {
		t.Fatalf("applied %v, want %v (the events after the skip, once each)", applied, want)
	}
}
