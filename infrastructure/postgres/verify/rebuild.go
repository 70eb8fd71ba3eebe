package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/orderstore"
)

// RebuildSummary counts what Rebuild did.
type RebuildSummary struct {
	Streams      int64 // order streams read
	Events       int64 // their events
	Rows         int64 // order_overview rows written
	Lines        int64 // order_overview_lines rows written
	DeletedRows  int64 // order_overview rows replaced
	DeletedLines int64 // order_overview_lines rows replaced
	Skipped      int64 // order streams that make no row: not placed, or an id that is not a UUID (verify names them)
	Duration     time.Duration
}

func (s RebuildSummary) String() string {
	msg := fmt.Sprintf("rebuild: %d order streams, %d events; wrote %d order_overview and %d order_overview_lines rows (replacing %d and %d) in %v",
		s.Streams, s.Events, s.Rows, s.Lines, s.DeletedRows, s.DeletedLines, s.Duration.Round(time.Millisecond))
	if s.Skipped > 0 {
		msg += fmt.Sprintf("; %d streams make no order and were skipped (orders verify lists them)", s.Skipped)
	}
	return msg
}

// ErrUndecodable is returned (wrapped) by Rebuild when an order stream holds an event
// the codec cannot decode: the order's row cannot be computed, so nothing is changed.
var ErrUndecodable = errors.New("an order event cannot be decoded")

var (
	overviewColumns = []string{"id", "customer_id", "status", "currency", "total_cents", "unit_count", "version", "placed_at", "updated_at"}
	linesColumns    = []string{"order_id", "line_no", "sku", "quantity", "unit_price_cents"}
)

// Rebuild recomputes order_overview and order_overview_lines from the events, in one
// transaction: it locks both tables, deletes their rows, folds every order stream (a
// page at a time, as Verify does) and writes the rows with COPY, and commits. Rows are
// what order.Fold makes of the events plus the events' versions (rowsOf), the rule
// the inline projection follows and Verify checks. An undecodable order event aborts
// the rebuild (ErrUndecodable) and leaves the tables as they were.
//
// Commands keep their own projection in their transaction, and the lock makes the two
// fit together:
//
//   - LOCK order_overview IN EXCLUSIVE MODE conflicts with the ROW EXCLUSIVE lock every
//     INSERT, UPDATE and DELETE takes, so it waits for the command transactions that
//     have written the read model to end, and then no command can write it (and so,
//     since commands write the read model in the transaction that appends the events,
//     no command can commit) until Rebuild commits. Commands queue meanwhile: a rebuild
//     is a pause in writes, as long as it runs.
//   - Only order_overview is locked, not order_overview_lines too: every statement that
//     writes lines (projectLineAdded) updates order_overview in the same statement, so
//     the one lock keeps every writer of both tables out. Locking the second table as
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
// Anything else that writes order_overview_lines without touching order_overview in
// the same statement must take the overview lock first, or Rebuild cannot keep it out.
func Rebuild(ctx context.Context, db DB, codec Codec, opts ...Option) (RebuildSummary, error) {
	start := time.Now()
	o := optionsOf(opts)
	var sum RebuildSummary
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return sum, fmt.Errorf("rebuild: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// SET and LOCK take no snapshot; the DELETE below is the first statement that does.
	if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", max(o.lockTimeout.Milliseconds(), 0))); err != nil {
		return sum, fmt.Errorf("rebuild: %w", err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE order_overview IN EXCLUSIVE MODE"); err != nil {
		return sum, fmt.Errorf("rebuild: lock the read model: %w", err)
	}
	tag, err := tx.Exec(ctx, "DELETE FROM order_overview_lines")
	if err != nil {
		return sum, fmt.Errorf("rebuild: %w", err)
	}
	sum.DeletedLines = tag.RowsAffected()
	if tag, err = tx.Exec(ctx, "DELETE FROM order_overview"); err != nil {
		return sum, fmt.Errorf("rebuild: %w", err)
	}
	sum.DeletedRows = tag.RowsAffected()

	write := func(ctx context.Context, streams []*stream) error {
		var rows, lines [][]any
		for _, s := range streams {
			if s.undecodable != nil {
				return fmt.Errorf("%w: %s", ErrUndecodable, s.undecodable)
			}
			if s.foldErr != nil {
				return s.foldErr
			}
			if s.row == nil {
				sum.Skipped++
				continue
			}
			r := s.row
			rows = append(rows, []any{r.ID, r.CustomerID, r.Status, r.Currency, r.TotalCents, r.UnitCount, r.Version, r.PlacedAt, r.UpdatedAt})
			for _, l := range s.lines {
				lines = append(lines, []any{r.ID, l.LineNo, l.SKU, l.Quantity, l.UnitPriceCents})
			}
		}
		// Rows first: the lines reference them.
		if len(rows) > 0 {
			n, err := tx.CopyFrom(ctx, pgx.Identifier{"order_overview"}, overviewColumns, pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("copy into order_overview: %w", err)
			}
			sum.Rows += n
		}
		if len(lines) > 0 {
			n, err := tx.CopyFrom(ctx, pgx.Identifier{"order_overview_lines"}, linesColumns, pgx.CopyFromRows(lines))
			if err != nil {
				return fmt.Errorf("copy into order_overview_lines: %w", err)
			}
			sum.Lines += n
		}
		return nil
	}
	sum.Streams, sum.Events, err = readStreams(ctx, tx, codec, o, orderstore.StreamType, write)
	if err != nil {
		return sum, fmt.Errorf("rebuild: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return sum, fmt.Errorf("rebuild: commit: %w", err)
	}
	sum.Duration = time.Since(start)
	return sum, nil
}
