package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// Difference is one thing the log and a read model (or the log and its own
// bookkeeping) disagree on. Stream names the stream; for an order it is {"order", order
// id}, also for an order_overview row that has no events. Expected is what the events
// say, Found what the database holds. A difference about a whole stream type (one
// without a registered read model) has an empty Stream.ID and Field, and says it in
// Found.
type Difference struct {
	Stream   eventstore.StreamID
	Field    string
	Expected string
	Found    string
}

// AggregateID is the aggregate the difference is about, if its stream id is one (a
// UUID in canonical form, as every aggregatestore stream id is).
func (d Difference) AggregateID() (uuid.UUID, bool) {
	id, err := uuid.Parse(d.Stream.ID)
	return id, err == nil && id.String() == d.Stream.ID
}

// String is the line the CLI prints, e.g.
// "order 0192…: total_cents: expected 750, found 700", "stream audit/a-1: …" for a
// stream id that is no aggregate id, and
// `stream type "invoice": no read-model checker registered (3 streams)`.
func (d Difference) String() string {
	if d.Stream.ID == "" && d.Field == "" {
		return fmt.Sprintf("stream type %q: %s", d.Stream.Type, d.Found)
	}
	subject := "stream " + d.Stream.String()
	if _, ok := d.AggregateID(); ok {
		subject = d.Stream.Type + " " + d.Stream.ID
	}
	return fmt.Sprintf("%s: %s: expected %s, found %s", subject, d.Field, d.Expected, d.Found)
}

// Summary counts what Verify looked at.
type Summary struct {
	Streams     int64 // streams with events, of every stream type
	Events      int64
	Heads       int64 // aggregate_heads rows
	Rows        int64 // root-table rows of every read model (see ReadModel.Tables)
	Compared    int64 // read-model rows, of every table, compared with their events
	Differences int64
	Duration    time.Duration
}

func (s Summary) String() string {
	return fmt.Sprintf("verify: %d streams, %d events, %d read-model rows checked, %d differences",
		s.Streams, s.Events, s.Rows, s.Differences)
}

// Verify checks, and changes nothing:
//
//   - that every stream's versions run 1..n without gap or duplicate and its
//     aggregate_heads row says n; a head without events or events without a head are
//     differences;
//   - that every stream of a type some read model in models is made of decodes,
//     passes its read model's event checks and folds (with the domain's fold) into
//     exactly the rows the read model holds for it (for orders: order_overview and
//     order_overview_lines); a stream without rows and a root row without events are
//     differences;
//   - that every stream type in the log has a read model in models: a type without
//     one is a difference (its streams cannot be checked), unless the option
//     Unregistered takes such types.
//
// report is called with each difference as it is found (it may be nil). The error is
// for failures to check at all (connection, missing schema, two read models of one
// stream type); differences are not errors.
//
// Everything is read in one REPEATABLE READ, read-only transaction: commands write
// their events, the head and the read model in one transaction, so one snapshot shows
// all of a command's writes or none of them, and Verify is exact while the service
// keeps running. Being read-only, the transaction takes no transaction id, so it does
// not hold back the log's readers (the feed, the consumers); it does hold back vacuum's horizon for
// as long as it runs.
func Verify(ctx context.Context, db DB, models []ReadModel, report func(Difference), opts ...Option) (Summary, error) {
	start := time.Now()
	o := optionsOf(opts)
	v := &verifier{o: o, models: map[string]ReadModel{}, unchecked: map[string]int64{}}
	for _, m := range models {
		if other, ok := v.models[m.StreamType()]; ok {
			return v.sum, fmt.Errorf("verify: read models %s and %s are both made of %q streams; one is supported", other.Name(), m.Name(), m.StreamType())
		}
		v.models[m.StreamType()] = m
	}
	v.report = func(d Difference) {
		v.sum.Differences++
		if report != nil {
			report(d)
		}
	}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return v.sum, fmt.Errorf("verify: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	v.tx = tx

	modelOf := func(t string) ReadModel {
		m := v.models[t]
		if m == nil && !o.logOnly[t] {
			if _, seen := v.unchecked[t]; !seen {
				v.uncheckedOrder = append(v.uncheckedOrder, t)
			}
			v.unchecked[t]++
		}
		return m
	}
	v.sum.Streams, v.sum.Events, err = readStreams(ctx, tx, o, "", modelOf, v.compare)
	if err == nil {
		err = v.orphanHeads(ctx)
	}
	for _, m := range models {
		if err == nil {
			err = v.orphanRows(ctx, m)
		}
	}
	if err == nil {
		for _, t := range v.uncheckedOrder {
			if o.unregistered != nil {
				o.unregistered(t, v.unchecked[t])
				continue
			}
			v.report(Difference{Stream: eventstore.StreamID{Type: t},
				Found: fmt.Sprintf("no read-model checker registered (%s)", plural(v.unchecked[t], "stream"))})
		}
	}
	v.sum.Duration = time.Since(start)
	if err != nil {
		return v.sum, fmt.Errorf("verify: %w", err)
	}
	return v.sum, nil
}

type verifier struct {
	o              options
	tx             pgx.Tx
	sum            Summary
	report         func(Difference)
	models         map[string]ReadModel // by stream type
	unchecked      map[string]int64     // streams of types without a read model
	uncheckedOrder []string
}

const selectHeads = `SELECT h.stream_type, h.stream_id, h.version
		FROM aggregate_heads h JOIN unnest($1::text[], $2::text[]) AS s(stream_type, stream_id)
		  ON h.stream_type = s.stream_type AND h.stream_id = s.stream_id`

// compare checks a batch of complete streams against their heads and read-model rows,
// looked up for the whole batch in one round trip.
func (v *verifier) compare(ctx context.Context, streams []*stream) error {
	types, ids := make([]string, len(streams)), make([]string, len(streams))
	byModel := map[ReadModel][]Stream{}
	var order []ReadModel
	for i, s := range streams {
		types[i], ids[i] = s.id.Type, s.id.ID
		if s.rm != nil {
			if _, ok := byModel[s.model]; !ok {
				order = append(order, s.model)
			}
			byModel[s.model] = append(byModel[s.model], s.rm)
		}
	}
	b := &pgx.Batch{}
	heads := map[eventstore.StreamID]int64{}
	b.Queue(selectHeads, types, ids).Query(func(r pgx.Rows) error {
		var id eventstore.StreamID
		var version int64
		_, err := pgx.ForEachRow(r, []any{&id.Type, &id.ID, &version}, func() error { heads[id] = version; return nil })
		return err
	})
	for _, m := range order {
		m.Load(b, byModel[m], func() { v.sum.Compared++ })
	}
	if err := v.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("read heads and read-model rows: %w", err)
	}

	for _, s := range streams {
		switch head, ok := heads[s.id]; {
		case !ok:
			s.diff().Report("aggregate_heads.version", fmt.Sprint(s.last), "no head")
		case head != s.last:
			s.diff().Report("aggregate_heads.version", fmt.Sprint(s.last), fmt.Sprint(head))
		}
		if s.rm != nil {
			if err := s.rm.Compare(); err != nil {
				return err
			}
		}
		for _, d := range s.log {
			v.report(d)
		}
		s.log = nil
	}
	return nil
}

// Heads and read-model rows that no event backs: a keyset page at a time, each row
// with whether its stream has any event (an index probe per row).
const (
	selectHeadsFirst = `SELECT h.stream_type, h.stream_id, h.version,
		  EXISTS (SELECT 1 FROM events e WHERE e.stream_type = h.stream_type AND e.stream_id = h.stream_id)
		FROM aggregate_heads h
		ORDER BY h.stream_type, h.stream_id
		LIMIT $1`
	selectHeadsNext = `SELECT h.stream_type, h.stream_id, h.version,
		  EXISTS (SELECT 1 FROM events e WHERE e.stream_type = h.stream_type AND e.stream_id = h.stream_id)
		FROM aggregate_heads h
		WHERE (h.stream_type, h.stream_id) > ($2, $3)
		ORDER BY h.stream_type, h.stream_id
		LIMIT $1`
)

// orphanHeads reports heads of streams that have no events.
func (v *verifier) orphanHeads(ctx context.Context) error {
	var after eventstore.StreamID
	for first := true; ; first = false {
		var rows pgx.Rows
		var err error
		if first {
			rows, err = v.tx.Query(ctx, selectHeadsFirst, v.o.pageSize)
		} else {
			rows, err = v.tx.Query(ctx, selectHeadsNext, v.o.pageSize, after.Type, after.ID)
		}
		if err != nil {
			return fmt.Errorf("read heads: %w", err)
		}
		var version int64
		var hasEvents bool
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&after.Type, &after.ID, &version, &hasEvents}, func() error {
			n++
			if !hasEvents {
				v.report(Difference{Stream: after, Field: "aggregate_heads.version", Expected: "no head (the stream has no events)", Found: fmt.Sprint(version)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read heads: %w", err)
		}
		v.sum.Heads += int64(n)
		v.o.observe("heads", n)
		if n < v.o.pageSize {
			return nil
		}
	}
}

// orphanRows counts the root rows of m and reports those whose stream has no events.
func (v *verifier) orphanRows(ctx context.Context, m ReadModel) error {
	table, idCol, versionCol := m.Root()
	t, id, version := pgx.Identifier{table}.Sanitize(), pgx.Identifier{idCol}.Sanitize(), pgx.Identifier{versionCol}.Sanitize()
	selectFirst := fmt.Sprintf(`SELECT o.%[2]s, o.%[3]s,
		  EXISTS (SELECT 1 FROM events e WHERE e.stream_type = $2 AND e.stream_id = o.%[2]s::text)
		FROM %[1]s o
		ORDER BY o.%[2]s
		LIMIT $1`, t, id, version)
	selectNext := fmt.Sprintf(`SELECT o.%[2]s, o.%[3]s,
		  EXISTS (SELECT 1 FROM events e WHERE e.stream_type = $2 AND e.stream_id = o.%[2]s::text)
		FROM %[1]s o
		WHERE o.%[2]s > $3
		ORDER BY o.%[2]s
		LIMIT $1`, t, id, version)
	var after uuid.UUID
	for first := true; ; first = false {
		var rows pgx.Rows
		var err error
		if first {
			rows, err = v.tx.Query(ctx, selectFirst, v.o.pageSize, m.StreamType())
		} else {
			rows, err = v.tx.Query(ctx, selectNext, v.o.pageSize, m.StreamType(), after)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		var version int64
		var hasEvents bool
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&after, &version, &hasEvents}, func() error {
			n++
			if !hasEvents {
				v.report(Difference{Stream: eventstore.StreamID{Type: m.StreamType(), ID: after.String()},
					Field: table, Expected: fmt.Sprintf("no row (the %s has no events)", m.StreamType()), Found: fmt.Sprintf("a row at version %d", version)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		v.sum.Rows += int64(n)
		v.o.observe("rows", n)
		if n < v.o.pageSize {
			return nil
		}
	}
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
