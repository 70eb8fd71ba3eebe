package subscription

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// The coordinator of a consumer, one per instance, on a connection of its own: every
// LockRetry it heartbeats (consumer_members) and renews the leases of the partitions
// it works on, claims free ones up to its share, releases the ones above it, and
// replaces the set of partitions when every running instance asks for another N.
// docs/architecture.md, "Partitioned consumers", has the protocol and its reasons.

// releaseSQL gives a partition's lease up, if the epoch is still the worker's, and
// tells the other instances (handoverChannel).
const releaseSQL = `WITH released AS (UPDATE consumer_checkpoints SET owner = NULL, lease_until = NULL
		WHERE name = $1 AND partitions = $2 AND partition = $3 AND epoch = $4 RETURNING name)
	SELECT pg_notify('` + handoverChannel + `', name) FROM released`

// handoverChannel carries a consumer's name when one of its partitions is released or
// an instance joins or leaves it. Every coordinator LISTENs and ticks at once, so a
// partition handed over is claimed within milliseconds, not at the next LockRetry: no
// gap without an owner on a join, a graceful leave or a change of N.
const handoverChannel = "consumer_handover"

// claimSQL takes a partition whose lease is free, expired, or this instance's own
// (a worker of it ended without releasing): a new epoch fences whoever held it.
const claimSQL = `UPDATE consumer_checkpoints
	SET owner = $4, epoch = epoch + 1, lease_until = now() + $5::interval, heartbeat_at = now()
	WHERE name = $1 AND partitions = $2 AND partition = $3
	  AND (owner IS NULL OR lease_until IS NULL OR lease_until <= now() OR owner = $4)
	RETURNING epoch`

// partitionRow is one partition as the coordinator sees it.
type partitionRow struct {
	n, p     int
	position int64
	owner    string
	epoch    int64
	held     bool // a lease that has not expired
	skip     skip
}

// member is one instance running the consumer, and the N it asks for.
type member struct {
	owner string
	n     int
}

// runConsumer coordinates c's partitions in this instance until ctx ends; then it
// stops its workers (each releases its lease), releases what they could not, and leaves
// the membership, telling the others, which take the partitions over at once.
func (r *Runtime) runConsumer(ctx context.Context, c *running) {
	log := r.opts.Log.With("consumer", c.Name)
	var conn *pgx.Conn
	failures, joined := 0, false
	for ctx.Err() == nil {
		if conn == nil || conn.IsClosed() {
			var err error
			if conn, err = r.connect(ctx); err != nil {
				conn = nil
				failures++
				if ctx.Err() == nil {
					log.Warn("consumer coordinator cannot connect; retrying", "error", err.Error())
				}
				sleep(ctx, min(r.opts.LockRetry*time.Duration(failures), 5*time.Second))
				continue
			}
			joined = false
		}
		err := r.tick(ctx, conn, c, log)
		if err == nil && !joined {
			// Counted now: the others hand over down to their new share at once.
			_, err = conn.Exec(ctx, `SELECT pg_notify('`+handoverChannel+`', $1)`, c.Name)
			joined = err == nil
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			log.Warn("consumer coordinator failed; reconnecting", "error", err.Error())
			r.closeConn(ctx, conn)
			conn = nil
		} else {
			failures = 0
		}
		r.waitTick(ctx, conn, c.Name)
	}
	c.stopWorkers(true)
	if conn != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		// Every worker has ended, so a lease still in this instance's name is one a worker
		// could not release (stopped mid-query, its connection closed): release it here.
		_, _ = conn.Exec(cctx, `WITH released AS (UPDATE consumer_checkpoints SET owner = NULL, lease_until = NULL
				WHERE name = $1 AND owner = $2),
			left_ AS (DELETE FROM consumer_members WHERE name = $1 AND owner = $2)
			SELECT pg_notify('`+handoverChannel+`', $1)`, c.Name, r.opts.Owner)
		cancel()
		r.closeConn(ctx, conn)
	}
}

// waitTick returns after LockRetry, or sooner when a partition of consumer name is
// handed over (handoverChannel), or ctx ends.
func (r *Runtime) waitTick(ctx context.Context, conn *pgx.Conn, name string) {
	if conn == nil {
		sleep(ctx, r.opts.LockRetry)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, r.opts.LockRetry)
	defer cancel()
	for {
		// A timeout leaves the connection usable; any other failure closes it, and
		// the next tick reconnects.
		n, err := conn.WaitForNotification(wctx)
		if err != nil || n.Payload == name {
			return
		}
	}
}

func (r *Runtime) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, r.connConfig.Copy())
	if err != nil {
		return nil, err
	}
	// A claim waits for a worker's transaction on the row at most this long: one that
	// hangs (a paused process) must not stop the coordinator.
	if _, err := conn.Exec(ctx, `SET lock_timeout = '2s'; LISTEN `+handoverChannel); err != nil {
		r.closeConn(ctx, conn)
		return nil, err
	}
	return conn, nil
}

func (r *Runtime) closeConn(ctx context.Context, conn *pgx.Conn) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = conn.Close(cctx)
}

// tick is one round of the coordinator.
func (r *Runtime) tick(ctx context.Context, conn *pgx.Conn, c *running, log *slog.Logger) error {
	c.reap()
	if r.paused.Load() {
		return nil
	}
	ttl := r.opts.LeaseTTL
	if _, err := conn.Exec(ctx, `INSERT INTO consumer_members (name, owner, partitions) VALUES ($1, $2, $3)
		ON CONFLICT (name, owner) DO UPDATE SET seen_at = now(), partitions = excluded.partitions`, c.Name, r.opts.Owner, c.n); err != nil {
		return err
	}
	if err := r.renew(ctx, conn, c); err != nil {
		return err
	}
	parts, err := partitionRows(ctx, conn, c.Name)
	if err != nil {
		return err
	}
	members, err := liveMembers(ctx, conn, c.Name, ttl)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		if err := createSet(ctx, conn, c.Name, c.n); err != nil {
			return err
		}
		if parts, err = partitionRows(ctx, conn, c.Name); err != nil || len(parts) == 0 {
			return err
		}
	}
	n := parts[0].n
	agree := slices.IndexFunc(members, func(m member) bool { return m.n != c.n }) < 0
	if agree && c.n != n {
		// Every running instance asks for c.n: stop working on the old set and, once
		// no one holds any of it, replace it.
		c.stopWorkers(false)
		if slices.ContainsFunc(parts, func(p partitionRow) bool { return p.held }) {
			return nil
		}
		return r.repartition(ctx, conn, c.Name, n, c.n, log)
	}
	me := slices.IndexFunc(members, func(m member) bool { return m.owner == r.opts.Owner })
	if me < 0 {
		return nil // not counted yet
	}
	target := n / len(members)
	if me < n%len(members) {
		target++
	}
	mine := c.owned()
	if len(mine) > target {
		// Give up the highest ones; each worker releases its lease once its batch is done.
		for _, p := range mine[target:] {
			c.stopWorker(p)
		}
		return nil
	}
	// Claim free partitions up to the share, starting where this instance's share
	// would begin, so that instances starting together rarely race for one row.
	start := me * n / len(members)
	for i := 0; i < n && len(mine) < target; i++ {
		p := parts[(start+i)%n]
		if slices.Contains(mine, p.p) || c.running(p.p) || (p.held && p.owner != r.opts.Owner) {
			continue
		}
		var epoch int64
		err := conn.QueryRow(ctx, claimSQL, c.Name, n, p.p, r.opts.Owner, ttl).Scan(&epoch)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // someone was faster
		}
		if err != nil {
			return err
		}
		r.startWorker(ctx, c, key{c.Name, n, p.p}, epoch, log)
		mine = append(mine, p.p)
	}
	return nil
}

// renew extends the leases of the partitions this instance works on; a worker whose
// lease is gone (taken over after a pause, or its set replaced) is stopped.
func (r *Runtime) renew(ctx context.Context, conn *pgx.Conn, c *running) error {
	c.mu.Lock()
	var ws []*worker
	for _, w := range c.workers {
		ws = append(ws, w)
	}
	c.mu.Unlock()
	if len(ws) == 0 {
		return nil
	}
	var ps, ns []int32
	var es []int64
	for _, w := range ws {
		ps, ns, es = append(ps, int32(w.key.p)), append(ns, int32(w.key.n)), append(es, w.epoch) //nolint:gosec // partition counts are small
	}
	rows, err := conn.Query(ctx, `UPDATE consumer_checkpoints c SET lease_until = now() + $5::interval, heartbeat_at = now()
		FROM unnest($3::int[], $4::int[], $6::bigint[]) AS w(n, p, e)
		WHERE c.name = $1 AND c.owner = $2 AND c.partitions = w.n AND c.partition = w.p AND c.epoch = w.e
		RETURNING c.partition`, c.Name, r.opts.Owner, ns, ps, r.opts.LeaseTTL, es)
	if err != nil {
		return err
	}
	kept, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	for _, w := range ws {
		if !slices.Contains(kept, int32(w.key.p)) { //nolint:gosec // partition counts are small
			w.cancel()
		}
	}
	return nil
}

func partitionRows(ctx context.Context, db *pgx.Conn, name string) ([]partitionRow, error) {
	rows, err := db.Query(ctx, `SELECT partitions, partition, position, coalesce(owner, ''), epoch,
			owner IS NOT NULL AND coalesce(lease_until > now(), false), skip_partitions, skip_positions
		FROM consumer_checkpoints WHERE name = $1 ORDER BY partitions, partition`, name)
	if err != nil {
		return nil, err
	}
	var out []partitionRow
	var p partitionRow
	_, err = pgx.ForEachRow(rows, []any{&p.n, &p.p, &p.position, &p.owner, &p.epoch, &p.held, &p.skip.N, &p.skip.Positions}, func() error {
		out = append(out, p)
		p.skip.Positions = nil
		return nil
	})
	if err == nil && len(out) > 0 && (out[0].n != out[len(out)-1].n || len(out) != out[0].n) {
		err = fmt.Errorf("subscription: consumer %s has an incomplete or mixed set of partitions", name)
	}
	return out, err
}

func liveMembers(ctx context.Context, db *pgx.Conn, name string, ttl time.Duration) ([]member, error) {
	if _, err := db.Exec(ctx, `DELETE FROM consumer_members WHERE name = $1 AND seen_at < now() - $2::interval`, name, 10*ttl); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT owner, partitions FROM consumer_members WHERE name = $1 AND seen_at > now() - $2::interval ORDER BY owner`, name, ttl)
	if err != nil {
		return nil, err
	}
	var out []member
	var m member
	_, err = pgx.ForEachRow(rows, []any{&m.owner, &m.n}, func() error { out = append(out, m); return nil })
	return out, err
}

// lockSet serialises the creation and replacement of a consumer's set of partitions.
const lockSet = `SELECT pg_advisory_xact_lock(hashtextextended('consumer-set:' || $1, 0))`

// createSet makes a new consumer's n partitions, all at position 0.
func createSet(ctx context.Context, conn *pgx.Conn, name string, n int) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockSet, name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO consumer_checkpoints (name, partitions, partition)
			SELECT $1, $2, g FROM generate_series(0, $2 - 1) g
			WHERE NOT EXISTS (SELECT 1 FROM consumer_checkpoints WHERE name = $1)`, name, n)
		return err
	})
}

// maxSkipPartitions bounds the modulus of a merged skip: beyond it the older skip is
// dropped, and what it alone had handled is repeated (idempotently) rather than passed.
const maxSkipPartitions = 1024

// repartition replaces the set of from partitions, none of which is held, by a set of
// to, in one transaction: the new partitions start at the lowest checkpoint of the old
// ones (nothing is skipped) and pass over what the old ones had handled beyond it
// (nothing is applied twice): the old set's positions become the new set's skip. Rows
// of the old set are deleted, which fences any worker of it that still wakes up.
func (r *Runtime) repartition(ctx context.Context, conn *pgx.Conn, name string, from, to int, log *slog.Logger) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockSet, name); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT partitions, partition, position, coalesce(owner, ''), epoch,
				owner IS NOT NULL AND coalesce(lease_until > now(), false), skip_partitions, skip_positions
			FROM consumer_checkpoints WHERE name = $1 ORDER BY partitions, partition FOR UPDATE`, name)
		if err != nil {
			return err
		}
		var parts []partitionRow
		var p partitionRow
		if _, err := pgx.ForEachRow(rows, []any{&p.n, &p.p, &p.position, &p.owner, &p.epoch, &p.held, &p.skip.N, &p.skip.Positions}, func() error {
			parts = append(parts, p)
			p.skip.Positions = nil
			return nil
		}); err != nil {
			return err
		}
		if len(parts) != from || slices.ContainsFunc(parts, func(p partitionRow) bool { return p.n != from || p.held }) {
			return nil // changed meanwhile: look again next tick
		}
		start, epoch := parts[0].position, int64(0)
		positions := make([]int64, from)
		for _, p := range parts {
			start, epoch = min(start, p.position), max(epoch, p.epoch)
			positions[p.p] = p.position
		}
		sk := mergeSkip(skip{N: from, Positions: positions}, parts[0].skip, start)
		if _, err := tx.Exec(ctx, `DELETE FROM consumer_checkpoints WHERE name = $1`, name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO consumer_checkpoints (name, partitions, partition, position, epoch, skip_partitions, skip_positions)
			SELECT $1, $2, g, $3, $4, $5, $6 FROM generate_series(0, $2 - 1) g`, name, to, start, epoch+1, sk.N, sk.Positions); err != nil {
			return err
		}
		log.Info("consumer repartitioned", "from", from, "to", to, "start", start, "skip_partitions", sk.N)
		return nil
	})
}

// mergeSkip is what a new set must pass over: what the old set handled (cur, its
// checkpoints) and what the old set itself still passed over (older). Both become one
// skip with the least common multiple of their moduli as N: an event's partition among
// either set follows from its hash mod that. A skip at or below start says nothing.
func mergeSkip(cur, older skip, start int64) skip {
	if older.active(start) {
		if l := lcm(cur.N, older.N); l <= maxSkipPartitions {
			merged := skip{N: l, Positions: make([]int64, l)}
			for k := range l {
				merged.Positions[k] = max(cur.Positions[k%cur.N], older.Positions[k%older.N])
			}
			cur = merged
		}
	}
	if !cur.active(start) {
		return skip{Positions: []int64{}}
	}
	return cur
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// startWorker runs a worker for partition k under the lease claimed with epoch.
func (r *Runtime) startWorker(ctx context.Context, c *running, k key, epoch int64, log *slog.Logger) {
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{key: k, epoch: epoch, wake: make(chan struct{}, 1), cancel: cancel, stopping: make(chan struct{}), done: make(chan struct{})}
	c.mu.Lock()
	c.workers[k.p] = w
	c.mu.Unlock()
	go r.work(wctx, c, w, log.With("partition", k.p, "partitions", k.n))
}

// reap forgets the workers that have ended.
func (c *running) reap() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, w := range c.workers {
		select {
		case <-w.done:
			w.cancel()
			delete(c.workers, p)
		default:
		}
	}
}

// owned lists the partitions this instance works on, in order: not those whose worker
// has ended or is releasing its lease (another instance may hold it already).
func (c *running) owned() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for p, w := range c.workers {
		select {
		case <-w.done:
		default:
			if !w.released.Load() {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (c *running) running(p int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.workers[p]
	return ok
}

func (c *running) stopWorker(p int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.workers[p]; ok {
		w.stop()
	}
}

// stopWorkers hands every partition over after the batch in hand; at shutdown
// (wait) the batch in hand is abandoned instead and it waits for the workers to end.
func (c *running) stopWorkers(wait bool) {
	c.mu.Lock()
	ws := make([]*worker, 0, len(c.workers))
	for _, w := range c.workers {
		if wait {
			w.cancel()
		} else {
			w.stop()
		}
		ws = append(ws, w)
	}
	c.mu.Unlock()
	if wait {
		for _, w := range ws {
			<-w.done
		}
	}
}
