package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// RebuildSummary counts what Rebuild did for one read model.
type RebuildSummary struct {
	ReadModel  string
	StreamType string
	Streams    int64        // streams of StreamType read
	Events     int64        // their events
	Tables     []TableCount // parents first (the reverse of ReadModel.Tables)
	Skipped    int64        // streams whose id is not a UUID, so they have no rows (verify names them)
	Duration   time.Duration
}

// TableCount is what Rebuild did to one table.
type TableCount struct {
	Name    string
	Deleted int64 // rows replaced
	Rows    int64 // rows written
}

// Table is the count for the table name (zero if it is not one of the read model's).
func (s RebuildSummary) Table(name string) TableCount {
	for _, t := range s.Tables {
		if t.Name == name {
			return t
		}
	}
	return TableCount{}
}

// String is the line the CLI prints, e.g. "rebuild: 3 order streams, 6 events; wrote 3
// order_overview and 3 order_overview_lines rows (replacing 3 and 3) in 12ms".
func (s RebuildSummary) String() string {
	wrote, replaced := make([]string, len(s.Tables)), make([]string, len(s.Tables))
	for i, t := range s.Tables {
		wrote[i] = fmt.Sprintf("%d %s", t.Rows, t.Name)
		replaced[i] = fmt.Sprint(t.Deleted)
	}
	msg := fmt.Sprintf("rebuild: %d %s streams, %d events; wrote %s rows (replacing %s) in %v",
		s.Streams, s.StreamType, s.Events, strings.Join(wrote, " and "), strings.Join(replaced, " and "), s.Duration.Round(time.Millisecond))
	if s.Skipped > 0 {
		msg += fmt.Sprintf("; %d streams have an id that is not a UUID and were skipped (verify lists them)", s.Skipped)
	}
	return msg
}

// ErrUndecodable is returned (wrapped) by Rebuild when a stream holds an event the
// codec cannot decode: its rows cannot be computed, so nothing is changed.
var ErrUndecodable = errors.New("an event cannot be decoded")

// Rebuild recomputes the read model m from the events, in one transaction: it locks
// m's root table, deletes the rows of all of m's tables (children first), replays the
// aggregate's own inline projection over every stream of m's stream type (a page at a
// time, as Verify reads, the statements of a page sent in one batch), and commits. So
// the rows are exactly what the commands' projection writes; Verify checks them against
// the domain's fold. An undecodable event aborts the rebuild (ErrUndecodable) and
// leaves the tables as they were.
//
// Commands keep their own projection in their transaction, and the lock makes the two
// fit together:
//
//   - LOCK <root table> IN EXCLUSIVE MODE (order_overview for orders) conflicts with the ROW EXCLUSIVE lock every
//     INSERT, UPDATE and DELETE takes, so it waits for the command transactions that
//     have written the read model to end, and then no command can write it (and so,
//     since commands write the read model in the transaction that appends the events,
//     no command can commit) until Rebuild commits. Commands queue meanwhile: a rebuild
//     is a pause in writes, as long as it runs.
//   - Only the root table is locked, not the child tables too (for orders:
//     order_overview, not order_overview_lines): every statement that writes lines
//     (projectLineAdded) updates order_overview in the same statement, so the one
//     lock keeps every writer of both tables out. Locking the second table as
//     well deadlocks with commands, whatever the order: projectLineAdded takes its
//     table locks overview-first when it is parsed (the WITH clause is analysed before
//     the INSERT's target) but lines-first when its cached plan runs (the range table
//     lists the INSERT's target first), and a command blocked on the overview lock
//     would hold the lines lock Rebuild waits for (TestRebuildUnderConcurrentCommands
//     found it). A command blocked on the overview lock has not written anything yet
//     (a statement takes all its table locks before it runs), so Rebuild's DELETE meets
//     no uncommitted line.
//   - EXCLUSIVE still admits ACCESS SHARE: reads of the read model go on and see the
//     old rows until the commit. That is why the rows are removed with DELETE, not
//     TRUNCATE, whose ACCESS EXCLUSIVE lock would block every read (and is not MVCC-
//     safe for concurrent snapshots).
//   - The transaction is REPEATABLE READ and takes its lock before its first query, so
//     its one snapshot is taken after it: it sees every event of every command that
//     committed before, and none of those that commit after. A command that appended
//     but had not committed when the snapshot was taken waits on the lock: its own
//     projection statements run after Rebuild commits, on rows that do not hold its
//     events yet (their version is lower), so they apply.
//
// Anything else that writes a child table without touching the root table in the same
// statement must take the root table's lock first, or Rebuild cannot keep it out.
func Rebuild(ctx context.Context, db DB, m ReadModel, opts ...Option) (RebuildSummary, error) {
	start := time.Now()
	o := optionsOf(opts)
	sum := RebuildSummary{ReadModel: m.Name(), StreamType: m.StreamType()}
	fail := func(err error) (RebuildSummary, error) { return sum, fmt.Errorf("rebuild %s: %w", m.Name(), err) }
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return fail(fmt.Errorf("begin: %w", err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// SET and LOCK take no snapshot; the first DELETE below is the first statement that does.
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", max(o.lockTimeout.Milliseconds(), 0))); err != nil {
		return fail(err)
	}
	tables := m.Tables()
	root, _, _ := m.Root()
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{root}.Sanitize()+" IN EXCLUSIVE MODE"); err != nil {
		return fail(fmt.Errorf("lock the read model: %w", err))
	}
	counts := make([]TableCount, len(tables))
	for i, t := range tables {
		tag, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{t}.Sanitize())
		if err != nil {
			return fail(err)
		}
		counts[len(tables)-1-i] = TableCount{Name: t, Deleted: tag.RowsAffected()}
	}

	write := func(ctx context.Context, streams []*stream) error {
		q := &batchQueue{}
		for _, s := range streams {
			ok, err := s.rm.Project(q)
			if err != nil {
				return err
			}
			if !ok {
				sum.Skipped++
			}
		}
		if q.b.Len() == 0 {
			return nil
		}
		if err := tx.SendBatch(ctx, &q.b).Close(); err != nil {
			return fmt.Errorf("project: %w", err)
		}
		return nil
	}
	sum.Streams, sum.Events, err = readStreams(ctx, tx, o, m.StreamType(), func(string) ReadModel { return m }, write)
	if err != nil {
		return fail(err)
	}
	for i := range counts {
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{counts[i].Name}.Sanitize()).Scan(&counts[i].Rows); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(fmt.Errorf("commit: %w", err))
	}
	sum.Tables = counts
	sum.Duration = time.Since(start)
	return sum, nil
}

// batchQueue is an aggregatestore.Queue that collects a page's statements for one
// round trip.
type batchQueue struct{ b pgx.Batch }

func (q *batchQueue) Defer(sql string, args ...any) { q.b.Queue(sql, args...) }
