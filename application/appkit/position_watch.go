package appkit

import (
	"context"
	"sync"
	"time"
)

// PositionWatch shares the reads of an asynchronous read model's position among every
// request of this process that waits for it: one read at a time, whatever the number
// of waiters (a poll per waiter cost ~20,000 queries for 100 waiters in 5 s). A read
// runs when a waiter needs a fresh one, when Progressed says the consumer moved (it
// runs in this process), and every poll interval while anyone waits (it may run in
// another replica); reads are at least minGap apart. Nothing is read while nobody
// waits.
type PositionWatch struct {
	position func(context.Context) (int64, error)
	poll     time.Duration
	minGap   time.Duration
	kick     chan struct{}

	mu      sync.Mutex
	at      int64         // the highest position read
	err     error         // the last read's error
	started int64         // reads begun
	done    int64         // reads finished (one at a time, so in order)
	changed chan struct{} // closed and replaced after every read
	waiters int
	running bool // the read loop runs while waiters > 0
}

// Poll and gap of a PositionWatch: 20 ms was each waiter's own poll before; now it is
// one query per process, and a consumer running here wakes the waiters sooner.
const (
	positionPoll    = 20 * time.Millisecond
	positionMinGap  = 5 * time.Millisecond
	positionTimeout = 2 * time.Second // of one read, which no request's context bounds
)

// NewPositionWatch returns a watch reading position.
func NewPositionWatch(position func(context.Context) (int64, error)) *PositionWatch {
	return &PositionWatch{position: position, poll: positionPoll, minGap: positionMinGap,
		kick: make(chan struct{}, 1), changed: make(chan struct{})}
}

// Progressed asks for a read now: the read model's consumer has moved.
func (w *PositionWatch) Progressed() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Wait returns nil once the position is at least want. After wait it returns a
// *BehindError, but only after a read that began after Wait was called, so that a
// zero wait still looks once. A failed read returns its error.
func (w *PositionWatch) Wait(ctx context.Context, want int64, wait time.Duration) error {
	w.mu.Lock()
	if w.at >= want {
		w.mu.Unlock()
		return nil
	}
	need := w.started + 1 // a read in flight may have begun before the caller's write
	w.waiters++
	if !w.running {
		w.running = true
		go w.loop() //nolint:gosec,contextcheck // it serves every waiter, not this request, and ends when none is left
	} else {
		w.Progressed()
	}
	changed := w.changed
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.waiters--
		w.mu.Unlock()
	}()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	expired := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			expired = true
		case <-changed:
		}
		w.mu.Lock()
		at, err, done := w.at, w.err, w.done
		changed = w.changed
		w.mu.Unlock()
		switch {
		case at >= want:
			return nil
		case done < need:
			continue // no fresh read yet
		case err != nil:
			return err
		case expired:
			return &BehindError{Wanted: want, Reached: at}
		}
	}
}

// loop reads while anyone waits, then ends; the next waiter starts it again.
func (w *PositionWatch) loop() {
	poll := time.NewTimer(w.poll)
	defer poll.Stop()
	for {
		w.mu.Lock()
		if w.waiters == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.started++
		w.mu.Unlock()

		began := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), positionTimeout)
		at, err := w.position(ctx)
		cancel()

		w.mu.Lock()
		w.done, w.err = w.started, err
		if err == nil && at > w.at {
			w.at = at
		}
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()

		poll.Reset(w.poll - time.Since(began))
		select {
		case <-poll.C:
		case <-w.kick:
			time.Sleep(w.minGap - time.Since(began))
		}
	}
}
