package subscription_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/test/pgtest"
)

// Reset moves a stopped consumer back to a position and clears its error: once the
// cause is fixed it resumes from there and applies every event after it again (the
// projection here keeps repeats, so they show), under a new epoch.
func TestResetResumesAStoppedConsumerFromItsPosition(t *testing.T) {
	pool := pgtest.NewPool(t)
	appendCommitted(t, pool, "Good", 3)
	appendCommitted(t, pool, "Bad", 1)
	appendCommitted(t, pool, "Good", 2)
	var broken atomic.Bool
	broken.Store(true)
	poison := subscription.Consumer{Name: "proj", Setup: applyLog("proj", nil).Setup,
		Project: func(e eventstore.RecordedEvent, q subscription.Queue) error {
			if e.Type == "Bad" && broken.Load() {
				return errors.New("cannot apply Bad")
			}
			return applyLog("proj", nil).Project(e, q)
		}}
	start(t, pool, fastOptions("a"), poison)
	eventually(t, 10*time.Second, "the consumer stops", func() bool { return status(t, pool, "proj").Stopped })
	before := status(t, pool, "proj")
	broken.Store(false) // the cause is fixed
	if err := subscription.Reset(context.Background(), pool, "proj", 0); err != nil {
		t.Fatal(err)
	}
	last := maxPosition(t, pool)
	eventually(t, 10*time.Second, "the consumer resumes from 0 to the end", func() bool { return status(t, pool, "proj").Position >= last })
	s := status(t, pool, "proj")
	if s.Stopped || s.Error != "" || s.Attempts != 0 || s.Epoch <= before.Epoch || !s.Healthy() {
		t.Fatalf("after the reset: %+v (before: epoch %d)", s, before.Epoch)
	}
	if n, _ := countApplied(t, pool); n != 3+6 {
		t.Fatalf("%d events applied, want the 3 before the stop and all 6 again after the reset", n)
	}
}

// Reset and Skip name what they did not find; a negative position is refused.
func TestResetOfAnUnknownConsumerOrPartitionSaysWhich(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	err := subscription.Reset(ctx, pool, "nope", 0)
	if !errors.Is(err, subscription.ErrUnknownConsumer) || strings.Contains(err.Error(), "partition") {
		t.Fatalf("reset of an unknown consumer: %v", err)
	}
	err = subscription.ResetPartition(ctx, pool, "nope", 2, 0)
	if !errors.Is(err, subscription.ErrUnknownConsumer) || !strings.Contains(err.Error(), `"nope" partition 2`) {
		t.Fatalf("reset of an unknown partition: %v", err)
	}
	if _, err := subscription.Skip(ctx, pool, "nope"); !errors.Is(err, subscription.ErrUnknownConsumer) {
		t.Fatalf("skip of an unknown consumer: %v", err)
	}
	if err := subscription.Reset(ctx, pool, "nope", -1); err == nil || errors.Is(err, subscription.ErrUnknownConsumer) {
		t.Fatalf("a negative position: %v", err)
	}
}

// Healthy is false when the partition is stopped or its last attempt failed.
func TestHealthyIsNeitherStoppedNorFailing(t *testing.T) {
	for _, c := range []struct {
		s    subscription.Status
		want bool
	}{
		{subscription.Status{}, true},
		{subscription.Status{Error: "cannot apply", Attempts: 1}, false},
		{subscription.Status{Stopped: true, Error: "cannot apply"}, false},
		{subscription.Status{Stopped: true}, false},
	} {
		if got := c.s.Healthy(); got != c.want {
			t.Errorf("Healthy(%+v) = %v, want %v", c.s, got, c.want)
		}
	}
}

// Partition 0 is a partition like any other: a reset or skip of it names it when it
// is not found (only AllPartitions, which is negative, names none).
func TestAnUnknownPartitionZeroIsNamed(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if err := subscription.ResetPartition(ctx, pool, "nope", 0, 0); !errors.Is(err, subscription.ErrUnknownConsumer) || !strings.Contains(err.Error(), `"nope" partition 0`) {
		t.Fatalf("reset of an unknown partition 0: %v", err)
	}
	if _, err := subscription.SkipPartition(ctx, pool, "nope", 0); !errors.Is(err, subscription.ErrUnknownConsumer) || !strings.Contains(err.Error(), `"nope" partition 0`) {
		t.Fatalf("skip of an unknown partition 0: %v", err)
	}
}
