package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application/appkit"
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
	// Partitions, if above 0, is how many partitions this consumer runs as, instead of
	// Options.Partitions. Changing it on a running system is safe (docs/architecture.md).
	Partitions int
}

// Options tune a Runtime. Zero fields take the defaults in brackets.
type Options struct {
	BatchSize    int           // events per read (500)
	PollInterval time.Duration // read this often without a notification (1s)
	// MinInterval is the shortest time between two reads (10ms). Under a steady write
	// load a notification comes with nearly every commit; waiting a little turns many
	// one-event batches, each a transaction with its checkpoint, into one.
	MinInterval time.Duration // (negative: none)
	// LockRetry is how often an instance heartbeats, renews its leases and claims or
	// releases partitions (1s).
	LockRetry time.Duration
	// LeaseTTL is how long a partition's lease lasts without a heartbeat, and how long
	// an instance counts as running without one (5s): a killed instance's partitions
	// move within about LeaseTTL + LockRetry.
	LeaseTTL time.Duration
	// Partitions is how many partitions each consumer runs as unless it says (1: one
	// instance works on the whole consumer at a time).
	Partitions  int
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
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 5 * time.Second
	}
	if o.Partitions <= 0 {
		o.Partitions = 1
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
	paused     atomic.Bool        // tests: the instance stops heartbeating (a paused process)
}

// running is one consumer in this instance: its coordinator's view of the partitions
// it works on here.
type running struct {
	Consumer
	n       int // the partitions this instance asks for
	mu      sync.Mutex
	workers map[int]*worker // by partition, while their goroutine runs
	hookMu  sync.Mutex      // CaughtUp runs for one partition at a time
}

// worker works on one partition while it holds the lease it claimed with epoch.
type worker struct {
	key      key
	epoch    int64
	wake     chan struct{}
	cancel   context.CancelFunc // abandons the batch in hand (shutdown, a lost lease)
	stopping chan struct{}      // closed to hand the partition over after the batch in hand
	stopOnce sync.Once
	done     chan struct{}
	released atomic.Bool // it applies nothing more and is giving its lease up
	pos      atomic.Int64
	caughtAt int64 // the position of the last caught-up read (CaughtUp's gate)
}

// New returns a runtime whose consumers connect with connConfig (one connection per
// consumer for its coordinator, and one per partition this instance works on; the
// listener one more).
func New(connConfig *pgx.ConnConfig, opts Options, consumers ...Consumer) *Runtime {
	r := &Runtime{connConfig: connConfig, opts: opts.withDefaults()}
	for _, c := range consumers {
		if (c.Project == nil) == (c.React == nil) {
			panic("subscription: consumer " + c.Name + " needs exactly one of Project and React")
		}
		n := c.Partitions
		if n <= 0 {
			n = r.opts.Partitions
		}
		r.consumers = append(r.consumers, &running{Consumer: c, n: n, workers: map[int]*worker{}})
	}
	return r
}

// Owner is this instance's name in the checkpoints.
func (r *Runtime) Owner() string { return r.opts.Owner }

// Wake makes every consumer read now (what a notification does).
func (r *Runtime) Wake() {
	for _, c := range r.consumers {
		c.mu.Lock()
		for _, w := range c.workers {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
		c.mu.Unlock()
	}
}

// Run runs the listener and every consumer until ctx ends. A consumer finishes or
// abandons (rolls back) the batch in hand, so nothing is half-applied, and releases its
// partitions for the other instances.
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

// work runs one partition's worker until ctx ends, it loses the lease, or its
// connection fails. It says why it stopped before it releases the lease, so that the log
// never shows the partition's next owner before this one's stop.
func (r *Runtime) work(ctx context.Context, c *running, w *worker, log *slog.Logger) {
	defer close(w.done)
	conn, err := pgx.ConnectConfig(ctx, workerConnConfig(r.connConfig, r.opts.LeaseTTL))
	if err == nil {
		err = r.session(ctx, c, w, conn, log)
	}
	if ctx.Err() == nil {
		log.Warn("consumer partition stopped", "error", fmt.Sprint(err))
	}
	if conn != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		w.released.Store(true) // before another instance can claim the partition
		_, _ = conn.Exec(cctx, releaseSQL, w.key.name, w.key.n, w.key.p, w.epoch)
		_ = conn.Close(cctx)
	}
}

// session is one partition's connection: take the row over from an earlier release if
// need be, set up, and consume.
func (r *Runtime) session(ctx context.Context, c *running, w *worker, conn *pgx.Conn, log *slog.Logger) error {
	if w.key.n == 1 {
		if err := convertLegacy(ctx, conn, &r.horizon, w.key, w.epoch); err != nil {
			return err
		}
	}
	if c.Setup != nil {
		if err := recovered(func() error { return c.Setup(ctx, conn) }); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	log.Info("consumer partition active", "owner", r.opts.Owner, "epoch", w.epoch)
	return r.consume(ctx, c, w, conn, log)
}

// workerConnConfig is a worker's connection: PostgreSQL ends its session when it sits
// in a transaction for longer than the lease. A worker frozen inside a projection's
// transaction (SIGSTOP, a long GC pause, a VM migration) holds its partition's row
// lock, on which another instance's claim waits (lock_timeout) and fails; without
// the timeout the partition would not move before the frozen process wakes. The
// transaction rolls back, so nothing of it commits (the fence would refuse it
// anyway).
func workerConnConfig(base *pgx.ConnConfig, lease time.Duration) *pgx.ConnConfig {
	cfg := base.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(max(lease.Milliseconds(), 1), 10)
	return cfg
}

// consume reads and handles batches until ctx ends or the connection fails.
func (r *Runtime) consume(ctx context.Context, c *running, w *worker, conn *pgx.Conn, log *slog.Logger) error {
	var lastRead time.Time
	var order streamOrder
	var horizon int64 // known from the last read; reused while a backlog lasts
	for ctx.Err() == nil && !w.stopped() {
		if !sleep(ctx, r.opts.MinInterval-time.Since(lastRead)) {
			break
		}
		cp, err := loadCheckpoint(ctx, conn, w.key)
		if err != nil {
			return err
		}
		if cp.Epoch != w.epoch {
			return errNotOwner
		}
		w.pos.Store(cp.Position)
		order.from(cp.Position, cp.Skip.active(cp.Position))
		if cp.Stopped {
			r.wait(ctx, w)
			continue
		}
		lastRead = time.Now()
		pg, err := readAfter(ctx, conn, &r.horizon, w.key, cp.Skip, cp.Position, horizon, r.opts.BatchSize)
		if err != nil {
			return err
		}
		horizon = pg.horizon
		done, failed, cause := r.handle(ctx, c, w, conn, &order, pg.events, cp.Position, pg.next)
		if done > 0 {
			r.progressed(c, w, done)
		}
		if cause == nil {
			if pg.more {
				continue // there may be more
			}
			horizon = 0 // sample afresh next time
			if pg.held {
				continue // read again in MinInterval
			}
			r.caughtUp(ctx, c, w, conn, log)
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
		attempts, stopped, err := recordFailure(ctx, conn, w.key, w.epoch, failed.Position, cause, maxAttempts)
		if err != nil {
			return err
		}
		log := log
		if p := (*PanicError)(nil); errors.As(cause, &p) {
			log = log.With("stack", string(p.Stack))
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

// stop asks the worker to hand its partition over once the batch in hand is done.
func (w *worker) stop() { w.stopOnce.Do(func() { close(w.stopping) }) }

func (w *worker) stopped() bool {
	select {
	case <-w.stopping:
		return true
	default:
		return false
	}
}

// handle checks a batch's per-stream order, then projects or reacts to the events
// that pass, in order. It returns the position the checkpoint moved to (0: it did not
// move), and the event that failed (an out-of-order one included) with why. When every
// event passes, the checkpoint moves to next (at or past the last event: the rows of
// other partitions a partition's read looked at).
func (r *Runtime) handle(ctx context.Context, c *running, w *worker, conn *pgx.Conn, order *streamOrder, events []eventstore.RecordedEvent, position, next int64) (int64, *eventstore.RecordedEvent, error) {
	bad, outOfOrder := order.check(events)
	ok, to := events, next
	if bad >= 0 {
		ok, to = events[:bad], 0
	}
	var done int64
	var failed *eventstore.RecordedEvent
	var cause error
	switch {
	case len(ok) > 0:
		if c.Project != nil {
			done, failed, cause = r.project(ctx, c, w, conn, ok, to, true)
		} else {
			done, failed, cause = r.react(ctx, c, w, conn, ok, to)
		}
		order.handled(ok, done)
	case to > position:
		if cause = advance(ctx, conn, w.key, w.epoch, to); cause == nil {
			done = to
			order.handled(nil, done)
		}
	}
	if cause == nil && bad >= 0 {
		return done, &events[bad], outOfOrder
	}
	return done, failed, cause
}

// caughtUp follows a read that emptied the log up to a horizon nothing waits behind:
// everything committed is handled. It runs the CaughtUp hook and waits for a wake-up
// (a commit after the read sends one) or the poll. A partition is only part of the
// consumer: the hook runs, with the consumer's watermark, once every partition has
// passed where this one was caught up the time before.
func (r *Runtime) caughtUp(ctx context.Context, c *running, w *worker, conn *pgx.Conn, log *slog.Logger) {
	if c.CaughtUp != nil {
		pos, fire := w.pos.Load(), w.key.n == 1
		if !fire {
			wm, err := Watermark(ctx, conn, c.Name)
			fire = err == nil && w.caughtAt > 0 && wm >= w.caughtAt
			w.caughtAt = pos
			pos = wm
		}
		if fire {
			c.hookMu.Lock()
			err := recovered(func() error { return c.CaughtUp(ctx, conn, pos) })
			c.hookMu.Unlock()
			if err != nil {
				log.Warn("caught-up hook failed", "error", err.Error())
			}
		}
	}
	r.wait(ctx, w)
}

// project applies events in one transaction with the checkpoint's move to the last of
// them (or to, when later). When an event fails, the events before it are applied (and
// checkpointed) on their own, and the failing one is returned. When only the COMMIT
// fails, split applies the events again one per transaction (else the one event is to
// blame).
func (r *Runtime) project(ctx context.Context, c *running, w *worker, conn *pgx.Conn, events []eventstore.RecordedEvent, to int64, split bool) (int64, *eventstore.RecordedEvent, error) {
	q := &stmtQueue{}
	if err := recovered(func() error {
		for i := range events {
			q.cur = i
			if err := c.Project(events[i], q); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return r.projectPrefix(ctx, c, w, conn, events, q.cur, err) // q.cur: the event that failed or panicked
	}
	last := max(events[len(events)-1].Position, to)
	var failedAt int
	err := r.traced(ctx, c.Name, events, func(ctx context.Context) error {
		var err error
		failedAt, err = r.applyTx(ctx, w, conn, q, last)
		return err
	})
	switch {
	case err == nil:
		return last, nil, nil
	case failedAt >= 0:
		return r.projectPrefix(ctx, c, w, conn, events, failedAt, err)
	case failedAt != atCommit || isOutage(err) || conn.IsClosed():
		return 0, nil, err
	case split:
		return r.projectEach(ctx, c, w, conn, events, to)
	}
	return 0, &events[0], err
}

// projectEach applies events one transaction each, after their batch's COMMIT failed
// (a deferred constraint, say). A failed commit names no statement: only this finds
// the event that cannot be applied, which would otherwise be read and retried forever
// without ever stopping the consumer. An event whose own commit fails is to blame; a
// commit that failed once (a transient fault) blames nothing.
func (r *Runtime) projectEach(ctx context.Context, c *running, w *worker, conn *pgx.Conn, events []eventstore.RecordedEvent, to int64) (int64, *eventstore.RecordedEvent, error) {
	var done int64
	for i := range events {
		until := int64(0)
		if i == len(events)-1 {
			until = to
		}
		d, failed, err := r.project(ctx, c, w, conn, events[i:i+1], until, false)
		if err != nil {
			return done, failed, err
		}
		done = d
	}
	return done, nil, nil
}

func (r *Runtime) projectPrefix(ctx context.Context, c *running, w *worker, conn *pgx.Conn, events []eventstore.RecordedEvent, failedAt int, cause error) (int64, *eventstore.RecordedEvent, error) {
	var done int64
	if failedAt > 0 {
		d, failed, err := r.project(ctx, c, w, conn, events[:failedAt], 0, true)
		if err != nil {
			return d, failed, err
		}
		done = d
	}
	return done, &events[failedAt], cause
}

// applyTx moves the checkpoint, fenced by the lease's epoch, and runs the queued
// statements, in one transaction: the move comes first, so that a worker that lost its
// lease writes nothing (and every writer takes the partition's row before the read
// model's rows). On failure it returns the index of the event whose statement failed,
// atCommit when only the COMMIT failed, or -1.
func (r *Runtime) applyTx(ctx context.Context, w *worker, conn *pgx.Conn, q *stmtQueue, to int64) (int, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return -1, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var b pgx.Batch
	b.Queue(advanceSQL, w.key.name, w.key.n, w.key.p, w.epoch, to)
	b.QueuedQueries = append(b.QueuedQueries, q.batch.QueuedQueries...)
	br := tx.SendBatch(ctx, &b)
	for i := range b.Len() {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			if i > 0 {
				return q.owner[i-1], err
			}
			return -1, err
		}
		if i == 0 && tag.RowsAffected() != 1 {
			_ = br.Close()
			return -1, errNotOwner
		}
	}
	if err := br.Close(); err != nil {
		return -1, err
	}
	if err := tx.Commit(ctx); err != nil {
		return atCommit, err
	}
	return -1, nil
}

// atCommit is applyTx's "failed at COMMIT": no statement of the batch is to blame.
const atCommit = -2

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

func (r *Runtime) react(ctx context.Context, c *running, w *worker, conn *pgx.Conn, events []eventstore.RecordedEvent, to int64) (int64, *eventstore.RecordedEvent, error) {
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
		if handled == len(events) {
			last = max(last, to)
		}
		if handled > saved || last > events[handled-1].Position {
			if err := advance(ctx, conn, w.key, w.epoch, last); err != nil {
				return 0, err
			}
			saved, savedAt = handled, time.Now()
		}
		return last, nil
	}
	for i := range events {
		if w.stopped() {
			done, err := checkpoint(ctx) // handed over between two events
			return done, nil, err
		}
		if ctx.Err() != nil {
			// Keep what was done, if the connection still answers; else it is redone.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			done, _ := checkpoint(sctx)
			cancel()
			return done, nil, ctx.Err()
		}
		if err := r.traced(ctx, c.Name, events[i:i+1], func(ctx context.Context) error {
			return recovered(func() error { return c.React(ctx, events[i]) })
		}); err != nil {
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
			w.pos.Store(done)
		}
	}
	done, err := checkpoint(ctx)
	return done, nil, err
}

// wait returns on a wake-up, after PollInterval, or when ctx ends.
func (r *Runtime) wait(ctx context.Context, w *worker) {
	t := time.NewTimer(r.opts.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-w.stopping:
	case <-w.wake:
	case <-t.C:
	}
}

// isOutage tells a database that cannot be reached (retried for as long as it lasts)
// from an event that fails (counted towards MaxAttempts).
func isOutage(err error) bool {
	return errors.Is(err, appkit.ErrUnavailable) || errors.Is(postgres.Classify(err), appkit.ErrUnavailable)
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

// Stats returns name, partition, position, lag in events and seconds (and the rest of
// Status) of this runtime's consumers' partitions, read from db, for metrics such as
// orders_consumer_position/lag_events/lag_seconds{consumer,partition}. Lag is the same whichever
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
