package application

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/orders/application/appkit"
)

// countingSummaries is a read model at position 0 until moved, counting the reads of
// its position.
type countingSummaries struct {
	at    atomic.Int64
	reads atomic.Int64
}

func (s *countingSummaries) Position(context.Context) (int64, error) {
	s.reads.Add(1)
	return s.at.Load(), nil
}

func (s *countingSummaries) CustomerSummary(_ context.Context, id string) (CustomerSummary, int64, error) {
	return CustomerSummary{CustomerID: id}, s.at.Load(), nil
}

// waitAll runs n reads of the summary waiting for min_position want, and returns
// their errors.
func waitAll(h *GetCustomerSummaryHandler, n int, want int64, wait time.Duration) []error {
	ctx := appkit.WithPrincipal(context.Background(), appkit.Unrestricted())
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, _, errs[i] = h.Handle(ctx, "c", want, wait) })
	}
	wg.Wait()
	return errs
}

// TestWaitersShareThePositionReads: 100 reads waiting 300 ms for the read model cost a
// bounded number of position queries, not a poll each (which was ~1,500).
func TestWaitersShareThePositionReads(t *testing.T) {
	rm := &countingSummaries{}
	h := NewGetCustomerSummaryHandler(rm)
	time.AfterFunc(300*time.Millisecond, func() { rm.at.Store(7) })
	start := time.Now()
	for i, err := range waitAll(h, 100, 7, 5*time.Second) {
		if err != nil {
			t.Fatalf("waiter %d: %v", i, err)
		}
	}
	// One read per 20 ms poll, plus the first ones and a few wake-ups.
	elapsed := time.Since(start)
	bound := int64(elapsed/(20*time.Millisecond)) + 10
	if n := rm.reads.Load(); n > bound {
		t.Fatalf("100 waiters over %v read the position %d times, want at most %d", elapsed.Round(time.Millisecond), n, bound)
	}
	t.Logf("100 waiters over %v: %d position reads", elapsed.Round(time.Millisecond), rm.reads.Load())
}

// TestZeroWaitLooksOnce: wait=0 answers from a fresh read of the position.
func TestZeroWaitLooksOnce(t *testing.T) {
	rm := &countingSummaries{}
	h := NewGetCustomerSummaryHandler(rm)
	var behind *appkit.BehindError
	if err := waitAll(h, 1, 5, 0)[0]; !errors.As(err, &behind) || behind.Reached != 0 {
		t.Fatalf("behind: %v", err)
	}
	rm.at.Store(5)
	if err := waitAll(h, 1, 5, 0)[0]; err != nil {
		t.Fatalf("reached: %v", err)
	}
}

// TestWaitEndsBeforeTheDeadline: a wait longer than the context allows ends early as
// "behind", with time left to answer, not as the context's deadline (which the
// transport answers as the database being unreachable).
func TestWaitEndsBeforeTheDeadline(t *testing.T) {
	h := NewGetCustomerSummaryHandler(&countingSummaries{})
	ctx, cancel := context.WithTimeout(appkit.WithPrincipal(context.Background(), appkit.Unrestricted()), 200*time.Millisecond)
	defer cancel()
	_, _, err := h.Handle(ctx, "c", 5, 2*time.Second)
	if !errors.Is(err, appkit.ErrReadModelBehind) || ctx.Err() != nil {
		t.Fatalf("got %v (context: %v), want appkit.ErrReadModelBehind before the deadline", err, ctx.Err())
	}
}

// laterSummaries is a read model that reaches position 7 from its second read on.
type laterSummaries struct{ reads atomic.Int64 }

func (s *laterSummaries) Position(context.Context) (int64, error) {
	if s.reads.Add(1) == 1 {
		return 0, nil
	}
	return 7, nil
}

func (s *laterSummaries) CustomerSummary(_ context.Context, id string) (CustomerSummary, int64, error) {
	return CustomerSummary{CustomerID: id, OrdersPlaced: 1}, 7, nil
}

// TestWaitNearTheDeadlineStillWaits: with less than twice the answer reserve left, the
// wait keeps half of what is left for the answer and waits the other half (here about
// 120ms, enough for the second read), rather than giving up at once.
func TestWaitNearTheDeadlineStillWaits(t *testing.T) {
	rm := &laterSummaries{}
	h := NewGetCustomerSummaryHandler(rm)
	ctx, cancel := context.WithTimeout(appkit.WithPrincipal(context.Background(), appkit.Unrestricted()), 240*time.Millisecond)
	defer cancel()
	summary, at, err := h.Handle(ctx, "c", 7, 10*time.Second)
	if err != nil || at != 7 || summary.OrdersPlaced != 1 {
		t.Fatalf("got %+v at %d, %v; want the summary at 7", summary, at, err)
	}
}

// Only a principal that may see the customer reads its summary; without a position to
// wait for, the summary is read at once.
func TestCustomerSummaryAccess(t *testing.T) {
	rm := &countingSummaries{}
	h := NewGetCustomerSummaryHandler(rm)
	none := context.Background()
	if _, _, err := h.Handle(none, "alice", 0, 0); !errors.Is(err, appkit.ErrUnauthenticated) {
		t.Errorf("no principal: %v", err)
	}
	if _, _, err := h.Handle(appkit.WithPrincipal(none, appkit.Principal{Subject: "bob"}), "alice", 0, 0); !errors.Is(err, appkit.ErrForbidden) {
		t.Errorf("another customer: %v", err)
	}
	s, _, err := h.Handle(appkit.WithPrincipal(none, appkit.Principal{Subject: "alice"}), "alice", 0, time.Hour)
	if err != nil || s.CustomerID != "alice" {
		t.Errorf("the customer itself: %+v, %v", s, err)
	}
	if n := rm.reads.Load(); n != 0 {
		t.Errorf("no position asked for, yet %d position reads", n)
	}
}
