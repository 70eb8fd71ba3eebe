package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// Queue takes a projection's statements; they run in the transaction that moves the
// checkpoint.
type Queue interface {
	Queue(sql string, args ...any)
}

// Consumer is one named consumer of the log: a projection (Project set) or a reactor
// (React set).
type Consumer struct {
	Name string
	// Project queues the statements that apply e; they run, with the checkpoint's
	// move, in one transaction per batch. It must not block.
	Project func(e eventstore.RecordedEvent, q Queue) error
	// React handles e outside the runtime's transactions; it may run more than once
	// for the same event (after a crash), so its effects must be idempotent by e.EventID.
	React func(ctx context.Context, e eventstore.RecordedEvent) error
	// Setup, if set, runs each time this instance becomes the owner, before the first
	// batch (e.g. CREATE TABLE IF NOT EXISTS).
	Setup func(ctx context.Context, conn *pgx.Conn) error
	// CaughtUp, if set, runs when the consumer has handled everything there was to read,
	// up to position.
	CaughtUp func(ctx context.Context, conn *pgx.Conn, position int64) error
}

// Options tune a Runtime. Zero fields take the defaults in brackets.
type Options struct {
	BatchSize    int           // events per read (500)
	PollInterval time.Duration // read this often without a notification (1s)
	// MinInterval is the shortest time between two reads (10ms). Under a steady write
	// load a notification comes with nearly every commit; waiting a little turns many
	// one-event batches, each a transaction with its checkpoint, into one.
	MinInterval time.Duration // (negative: none)
	LockRetry   time.Duration // a standby tries the lock this often (1s)
	MaxAttempts int           // failures of one event before the consumer stops (5)
	RetryBase   time.Duration // backoff after the first failure, doubling (100ms)
	RetryMax    time.Duration // longest backoff (5s)
	Owner       string        // this instance's name in the checkpoint (host-pid-random)
	Channel     string        // the NOTIFY channel to LISTEN on; "" polls only
	Log         *slog.Logger
	// Span, if set, wraps the handling of events (one for a reactor, a batch for a
	// projection) given their metadata, so that tracing continues the commands' traces.
	Span func(ctx context.Context, consumer string, metadata []json.RawMessage) (context.Context, func(error))
	// OnProgress, if set, is told each time a consumer's checkpoint has moved, after
	// the commit: it wakes the reads waiting for a read model's position. It must not
	// block.
	OnProgress func(consumer string, position int64)
}

func (o Options) withDefaults() Options {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.MinInterval == 0 {
		o.MinInterval = 10 * time.Millisecond
	}
	if o.LockRetry <= 0 {
		o.LockRetry = time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 100 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Second
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.IntN(1<<16)) //nolint:gosec // a name to tell instances apart, not a secret
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Runtime runs consumers until its context ends.
type Runtime struct {
	connConfig *pgx.ConnConfig
	opts       Options
	consumers  []*running
	horizon    eventstore.Horizon // shared by the consumers: one's sample serves the others
}

type running struct {
	Consumer
	wake   chan struct{}
	active atomic.Bool
	pos    atomic.Int64
}

// New returns a runtime whose consumers connect with connConfig (each owner holds one
// connection per consumer; the listener one more).
func New(connConfig *pgx.ConnConfig, opts Options, consumers ...Consumer) *Runtime {
	r := &Runtime{connConfig: connConfig, opts: opts.withDefaults()}
	for _, c := range consumers {
		if (c.Project == nil) == (c.React == nil) {
			panic("subscription: consumer " + c.Name + " needs exactly one of Project and React")
		}
		r.consumers = append(r.consumers, &running{Consumer: c, wake: make(chan struct{}, 1)})
	}
	return r
}

// Owner is this instance's name in the checkpoints.
func (r *Runtime) Owner() string { return r.opts.Owner }

// Wake makes every consumer read now (what a notification does).
func (r *Runtime) Wake() {
	for _, c := range r.consumers {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// Run runs the listener and every consumer until ctx ends. A consumer finishes or
// abandons (rolls back) the batch in hand, so nothing is half-applied.
func (r *Runtime) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if r.opts.Channel != "" {
		wg.Go(func() { Listen(ctx, r.connConfig, r.opts.Channel, r.Wake, r.opts.Log) })
	}
	for _, c := range r.consumers {
		wg.Go(func() { r.runConsumer(ctx, c) })
	}
	wg.Wait()
}

// runConsumer connects, waits for the lock, works while it holds it, and starts over
// after any failure of the connection.
func (r *Runtime) runConsumer(ctx context.Context, c *running) {
	log := r.opts.Log.With("consumer", c.Name)
	failures := 0
	for ctx.Err() == nil {
		err := r.session(ctx, c, log)
		c.active.Store(false)
		if ctx.Err() != nil {
			return
		}
		failures++
		log.Warn("consumer session ended; reconnecting", "error", fmt.Sprint(err))
		sleep(ctx, min(r.opts.LockRetry*time.Duration(failures), 5*time.Second))
		if err == nil {
			failures = 0
		}
	}
}

// session is one connection's life: try the lock every LockRetry, then consume.
func (r *Runtime) session(ctx context.Context, c *running, log *slog.Logger) error {
	conn, err := pgx.ConnectConfig(ctx, r.connConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx) // closing the session releases the advisory lock
	}()
	for {
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, "consumer:"+c.Name).Scan(&got); err != nil {
			return err
		}
		if got {
			break
		}
		if !sleep(ctx, r.opts.LockRetry) {
			return ctx.Err()
		}
	}
	if err := ensureCheckpoint(ctx, conn, &r.horizon, c.Name, r.opts.Owner); err != nil {
		return err
	}
	if c.Setup != nil {
		if err := c.Setup(ctx, conn); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	c.active.Store(true)
	log.Info("consumer active", "owner", r.opts.Owner)
	return r.consume(ctx, c, conn, log)
}

// consume reads and handles batches until ctx ends or the connection fails.
func (r *Runtime) consume(ctx context.Context, c *running, conn *pgx.Conn, log *slog.Logger) error {
	var lastRead time.Time
	var order streamOrder
	var horizon int64 // known from the last read; reused while a backlog lasts
	for ctx.Err() == nil {
		if !sleep(ctx, r.opts.MinInterval-time.Since(lastRead)) {
			break
		}
		cp, err := loadCheckpoint(ctx, conn, c.Name)
		if err != nil {
			return err
		}
		c.pos.Store(cp.Position)
		order.from(cp.Position)
		if cp.Stopped {
			r.wait(ctx, c)
			continue
		}
		lastRead = time.Now()
		events, h, held, err := readAfter(ctx, conn, &r.horizon, cp.Position, horizon, r.opts.BatchSize)
		if err != nil {
			return err
		}
		horizon = h
		done, failed, cause := r.handle(ctx, c, conn, &order, events)
		if done > 0 {
			r.progressed(c, done)
		}
		if cause == nil {
			if len(events) == r.opts.BatchSize {
				continue // there may be more
			}
			horizon = 0 // sample afresh next time
			if held {
				continue // read again in MinInterval
			}
			r.caughtUp(ctx, c, conn, log)
			continue
		}
		horizon = 0
		if ctx.Err() != nil || errors.Is(cause, errNotOwner) || conn.IsClosed() || failed == nil || isOutage(cause) {
			return cause
		}
		maxAttempts := r.opts.MaxAttempts
		var outOfOrder *OrderError
		if errors.As(cause, &outOfOrder) {
			maxAttempts = 1 // reading again cannot mend it
		}
		attempts, stopped, err := recordFailure(ctx, conn, c.Name, r.opts.Owner, failed.Position, cause, maxAttempts)
		if err != nil {
			return err
		}
		if stopped {
			log.Error("consumer stopped at a failing event; `consumers skip` or `consumers reset` resumes it",
				"position", failed.Position, "event_id", failed.EventID.String(), "event_type", failed.Type, "attempts", attempts, "error", cause.Error())
			continue
		}
		log.Warn("event failed; retrying", "position", failed.Position, "event_type", failed.Type, "attempts", attempts, "error", cause.Error())
		sleep(ctx, min(r.opts.RetryBase<<(attempts-1), r.opts.RetryMax))
	}
	return ctx.Err()
}

// handle checks a batch's per-stream order, then projects or reacts to the events
// that pass, in order. It returns the position of the last event handled, and the
// event that failed (an out-of-order one included) with why.
func (r *Runtime) handle(ctx context.Context, c *running, conn *pgx.Conn, order *streamOrder, events []eventstore.RecordedEvent) (int64, *eventstore.RecordedEvent, error) {
	bad, outOfOrder := order.check(events)
	ok := events
	if bad >= 0 {
		ok = events[:bad]
	}
	var done int64
	var failed *eventstore.RecordedEvent
	var cause error
	if len(ok) > 0 {
		if c.Project != nil {
			done, failed, cause = r.project(ctx, c, conn, ok)
		} else {
			done, failed, cause = r.react(ctx, c, conn, ok)
		}
		order.handled(ok, done)
	}
	if cause == nil && bad >= 0 {
		return done, &events[bad], outOfOrder
	}
	return done, failed, cause
}

// caughtUp follows a read that emptied the log up to a horizon nothing waits behind:
// everything committed is handled. It runs the CaughtUp hook and waits for a wake-up
// (a commit after the read sends one) or the poll.
func (r *Runtime) caughtUp(ctx context.Context, c *running, conn *pgx.Conn, log *slog.Logger) {
	if c.CaughtUp != nil {
		if err := c.CaughtUp(ctx, conn, c.pos.Load()); err != nil {
			log.Warn("caught-up hook failed", "error", err.Error())
		}
	}
	r.wait(ctx, c)
}

// project applies events in one transaction with the checkpoint. When an event
// fails, the events before it are applied (and checkpointed) on their own, and the
// failing one is returned.
func (r *Runtime) project(ctx context.Context, c *running, conn *pgx.Conn, events []eventstore.RecordedEvent) (int64, *eventstore.RecordedEvent, error) {
	q := &stmtQueue{}
	for i := range events {
		q.cur = i
		if err := c.Project(events[i], q); err != nil {
			return r.projectPrefix(ctx, c, conn, events, i, err)
		}
	}
	last := events[len(events)-1].Position
	var failedAt int
	err := r.traced(ctx, c.Name, events, func(ctx context.Context) error {
		var err error
		failedAt, err = r.applyTx(ctx, c, conn, q, last)
		return err
	})
	if err == nil {
		return last, nil, nil
	}
	if failedAt < 0 {
		return 0, nil, err
	}
	return r.projectPrefix(ctx, c, conn, events, failedAt, err)
}

func (r *Runtime) projectPrefix(ctx context.Context, c *running, conn *pgx.Conn, events []eventstore.RecordedEvent, failedAt int, cause error) (int64, *eventstore.RecordedEvent, error) {
	var done int64
	if failedAt > 0 {
		d, failed, err := r.project(ctx, c, conn, events[:failedAt])
		if err != nil {
			return d, failed, err
		}
		done = d
	}
	return done, &events[failedAt], cause
}

// applyTx runs the queued statements and the checkpoint's move in one transaction.
// On failure it returns the index of the event whose statement failed, or -1.
func (r *Runtime) applyTx(ctx context.Context, c *running, conn *pgx.Conn, q *stmtQueue, to int64) (int, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return -1, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q.batch.Queue(advanceSQL, c.Name, r.opts.Owner, to)
	br := tx.SendBatch(ctx, &q.batch)
	for i := range q.batch.Len() {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			if i < len(q.owner) {
				return q.owner[i], err
			}
			return -1, err
		}
		if i == q.batch.Len()-1 && tag.RowsAffected() != 1 {
			_ = br.Close()
			return -1, errNotOwner
		}
	}
	if err := br.Close(); err != nil {
		return -1, err
	}
	return -1, tx.Commit(ctx)
}

type stmtQueue struct {
	batch pgx.Batch
	owner []int // the event index of each queued statement
	cur   int
}

func (q *stmtQueue) Queue(sql string, args ...any) {
	q.batch.Queue(sql, args...)
	q.owner = append(q.owner, q.cur)
}

// react handles events one by one, moving the checkpoint after each.
// reactorCheckpointEvery bounds how long a reactor works through a batch without
// moving its checkpoint: what a crash repeats, and how stale `consumers status` looks.
const reactorCheckpointEvery = time.Second

func (r *Runtime) react(ctx context.Context, c *running, conn *pgx.Conn, events []eventstore.RecordedEvent) (int64, *eventstore.RecordedEvent, error) {
	// The checkpoint moves once per batch, and at most every reactorCheckpointEvery
	// within a slow one, not per event: reactors are idempotent by event id, so a crash
	// only repeats events, and most events are ones a reactor ignores, for which a
	// durable checkpoint write each was most of the cost.
	handled, saved, savedAt := 0, 0, time.Now()
	checkpoint := func(ctx context.Context) (int64, error) {
		if handled == 0 {
			return 0, nil
		}
		last := events[handled-1].Position
		if handled > saved {
			if err := advance(ctx, conn, c.Name, r.opts.Owner, last); err != nil {
				return 0, err
			}
			saved, savedAt = handled, time.Now()
		}
		return last, nil
	}
	for i := range events {
		if ctx.Err() != nil {
			// Keep what was done, if the connection still answers; else it is redone.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			done, _ := checkpoint(sctx)
			cancel()
			return done, nil, ctx.Err()
		}
		if err := r.traced(ctx, c.Name, events[i:i+1], func(ctx context.Context) error { return c.React(ctx, events[i]) }); err != nil {
			done, cerr := checkpoint(ctx)
			if cerr != nil {
				return done, nil, cerr
			}
			return done, &events[i], err
		}
		handled++
		if time.Since(savedAt) >= reactorCheckpointEvery {
			done, err := checkpoint(ctx)
			if err != nil {
				return done, nil, err
			}
			c.pos.Store(done)
		}
	}
	done, err := checkpoint(ctx)
	return done, nil, err
}

// wait returns on a wake-up, after PollInterval, or when ctx ends.
func (r *Runtime) wait(ctx context.Context, c *running) {
	t := time.NewTimer(r.opts.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-c.wake:
	case <-t.C:
	}
}

// isOutage tells a database that cannot be reached (retried for as long as it lasts)
// from an event that fails (counted towards MaxAttempts).
func isOutage(err error) bool {
	return errors.Is(err, application.ErrUnavailable) || errors.Is(postgres.Classify(err), application.ErrUnavailable)
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Stats returns name, position, lag in events and seconds (and the rest of Status) of
// this runtime's consumers, read from db, for metrics such as
// orders_consumer_position/lag_events/lag_seconds{consumer}. Lag is the same whichever
// replica asks, so every replica may export it.
func (r *Runtime) Stats(ctx context.Context, db eventstore.DBTX) ([]Status, error) {
	all, err := Statuses(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, s := range all {
		for _, c := range r.consumers {
			if c.Name == s.Name {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// traced runs handle inside Options.Span, when set.
func (r *Runtime) traced(ctx context.Context, consumer string, events []eventstore.RecordedEvent, handle func(context.Context) error) error {
	if r.opts.Span == nil {
		return handle(ctx)
	}
	metadata := make([]json.RawMessage, len(events))
	for i, e := range events {
		metadata[i] = e.Metadata
	}
	ctx, end := r.opts.Span(ctx, consumer, metadata)
	err := handle(ctx)
	end(err)
	return err
}
