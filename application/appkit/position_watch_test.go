package appkit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedPosition is a read model's position as a PositionWatch reads it: each read
// takes delay and answers at (or fails with fail, still saying at), counted.
type scriptedPosition struct {
	mu     sync.Mutex
	at     int64
	fail   error
	delay  time.Duration
	reads  atomic.Int64
	starts []time.Time // when each read began
}

func (p *scriptedPosition) read(context.Context) (int64, error) {
	p.reads.Add(1)
	p.mu.Lock()
	p.starts = append(p.starts, time.Now())
	at, fail, delay := p.at, p.fail, p.delay
	p.mu.Unlock()
	time.Sleep(delay)
	return at, fail
}

func (p *scriptedPosition) set(at int64, fail error) {
	p.mu.Lock()
	p.at, p.fail = at, fail
	p.mu.Unlock()
}

// A position already read is answered without another read, for it and below it;
// positions never go back, whatever a later read says.
func TestPositionWatchAnswersWhatItHasRead(t *testing.T) {
	p := &scriptedPosition{at: 5}
	w := NewPositionWatch(p.read)
	ctx := context.Background()
	if err := w.Wait(ctx, 5, time.Second); err != nil {
		t.Fatal(err)
	}
	reads := p.reads.Load()
	for _, want := range []int64{5, 4, 0} {
		if err := w.Wait(ctx, want, 0); err != nil {
			t.Fatalf("position %d after reading 5: %v", want, err)
		}
	}
	if n := p.reads.Load(); n != reads {
		t.Fatalf("positions already reached cost %d more reads", n-reads)
	}
	p.set(3, nil) // the read model answers lower (another replica, a replica lagging)
	var behind *BehindError
	if err := w.Wait(ctx, 6, 50*time.Millisecond); !errors.As(err, &behind) || behind.Reached != 5 || behind.Wanted != 6 {
		t.Fatalf("waiting for 6 after reads of 5 then 3: %v, want behind at 5", err)
	}
}

// A failed read is the waiters' answer, even when it says a position; the next read
// that works is used again.
func TestPositionWatchReturnsAFailedRead(t *testing.T) {
	broken := errors.New("connection reset")
	p := &scriptedPosition{at: 9, fail: broken}
	w := NewPositionWatch(p.read)
	if err := w.Wait(context.Background(), 1, time.Second); !errors.Is(err, broken) {
		t.Fatalf("Wait with a failing read: %v, want its error", err)
	}
	p.set(9, nil)
	if err := w.Wait(context.Background(), 9, time.Second); err != nil {
		t.Fatalf("Wait once reads work again: %v", err)
	}
}

// The read loop runs only while someone waits: once the last waiter is answered, the
// reads stop.
func TestPositionWatchStopsReadingWhenNobodyWaits(t *testing.T) {
	p := &scriptedPosition{}
	w := NewPositionWatch(p.read)
	w.poll = 5 * time.Millisecond
	var behind *BehindError
	if err := w.Wait(context.Background(), 1, 30*time.Millisecond); !errors.As(err, &behind) {
		t.Fatalf("Wait: %v, want behind", err)
	}
	time.Sleep(50 * time.Millisecond) // a read in flight ends
	reads := p.reads.Load()
	time.Sleep(100 * time.Millisecond) // 20 polls, were the loop still running
	if n := p.reads.Load(); n != reads {
		t.Fatalf("%d reads after the last waiter left", n-reads)
	}
	w.mu.Lock()
	waiters, running := w.waiters, w.running
	w.mu.Unlock()
	if waiters != 0 || running {
		t.Fatalf("%d waiters, loop running %v, after every Wait returned", waiters, running)
	}
}

// Reads are a poll interval apart from start to start, however long each takes, and a
// consumer's progress brings the next read forward to minGap after the last one began.
// (A read taking 30ms with a 40ms poll: a read every 40ms, not every 30+40.) The median
// gap between read starts is measured, which a busy machine moves little.
func TestPositionWatchPacesItsReads(t *testing.T) {
	for _, c := range []struct {
		name string
		kick bool
	}{{"polled", false}, {"kicked", true}} {
		t.Run(c.name, func(t *testing.T) {
			p := &scriptedPosition{delay: 30 * time.Millisecond}
			w := NewPositionWatch(p.read)
			w.poll, w.minGap = 40*time.Millisecond, 40*time.Millisecond
			if c.kick {
				w.poll = time.Hour
				done := make(chan struct{})
				defer close(done)
				go func() {
					for {
						select {
						case <-done:
							return
						case <-time.After(2 * time.Millisecond):
							w.Progressed()
						}
					}
				}()
			}
			_ = w.Wait(context.Background(), 1, 800*time.Millisecond)
			p.mu.Lock()
			starts := slices.Clone(p.starts)
			p.mu.Unlock()
			if len(starts) < 5 {
				t.Fatalf("%d reads in 800ms", len(starts))
			}
			gaps := make([]time.Duration, len(starts)-1)
			for i := range gaps {
				gaps[i] = starts[i+1].Sub(starts[i])
			}
			slices.Sort(gaps)
			// 40ms paced from the starts (a timer never fires early); 70ms if the pause
			// followed each read's end; 30ms if there were no pause.
			if median := gaps[len(gaps)/2]; median < 35*time.Millisecond || median > 58*time.Millisecond {
				t.Fatalf("median gap between reads %v (gaps %v), want about 40ms", median, gaps)
			}
		})
	}
}

// TestProgressWakesTheWaiters: with no poll to speak of, the consumer's progress
// (Progressed) is what wakes the waiting reads.
func TestProgressWakesTheWaiters(t *testing.T) {
	var at atomic.Int64
	w := NewPositionWatch(func(context.Context) (int64, error) { return at.Load(), nil })
	w.poll = time.Hour
	waiting := func() int {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.waiters
	}
	go func() {
		for waiting() < 10 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // the waiters' own reads are done
		at.Store(3)
		w.Progressed()
	}()
	start := time.Now()
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = w.Wait(context.Background(), 3, 3*time.Second) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("waiter %d: %v", i, err)
		}
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("the waiters woke after %v", elapsed)
	}
}

// A zero wait still looks once: its answer comes from a read begun after Wait was
// called (an earlier read may have begun before the caller's write), not from the
// position already known.
func TestPositionWatchZeroWaitLooksOnce(t *testing.T) {
	p := &scriptedPosition{}
	w := NewPositionWatch(p.read)
	w.poll = 200 * time.Millisecond
	ctx := context.Background()
	var behind *BehindError
	if err := w.Wait(ctx, 5, 0); !errors.As(err, &behind) || behind.Reached != 0 {
		t.Fatalf("behind: %v", err)
	}
	if n := p.reads.Load(); n != 1 {
		t.Fatalf("a zero wait read the position %d times, want once", n)
	}
	p.set(5, nil)
	if err := w.Wait(ctx, 5, 0); err != nil {
		t.Fatalf("the position reached since the last read: %v", err)
	}
}
