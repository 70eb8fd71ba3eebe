package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
)

// DB is what Verify and Rebuild need: a *pgxpool.Pool or a *pgx.Conn.
type DB interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Codec decodes stored order events; eventcodec.NewOrderRegistry() is the one to use.
type Codec = *eventcodec.Registry[order.Event]

// DefaultPageSize is how many events (and read-model rows) one page holds by default.
const DefaultPageSize = 2000

// Option adjusts Verify or Rebuild.
type Option func(*options)

type options struct {
	pageSize    int
	lockTimeout time.Duration
	observe     func(what string, n int) // for tests: the size of every page and batch
}

// PageSize sets how many events are read per query, and so how many streams are looked
// up or written per batch. Memory grows with it (and with the largest stream), not with
// the size of the log. Values below 1 mean DefaultPageSize.
func PageSize(n int) Option { return func(o *options) { o.pageSize = n } }

// LockTimeout bounds how long Rebuild waits for its table locks (default 10s; 0 waits
// as long as the context allows). While Rebuild waits, every command that wants to
// write the read model queues behind it, so it should give up rather than wait long.
func LockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

func optionsOf(opts []Option) options {
	o := options{pageSize: DefaultPageSize, lockTimeout: 10 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	if o.pageSize < 1 {
		o.pageSize = DefaultPageSize
	}
	if o.observe == nil {
		o.observe = func(string, int) {}
	}
	return o
}

// rawEvent is one row of the log as the scan reads it.
type rawEvent struct {
	stream  eventstore.StreamID
	version int64
	typ     string
	schema  int32
	payload []byte
}

// The log in stream order, a keyset page at a time; the UNIQUE (stream_type, stream_id,
// stream_version) index serves both the order and the row comparison. Versions are
// positive (CHECK), so empty strings and version 0 make a key below every row.
const (
	selectPage = `SELECT stream_type, stream_id, stream_version, event_type, schema_version, payload
		FROM events
		WHERE (stream_type, stream_id, stream_version) > ($1, $2, $3)
		ORDER BY stream_type, stream_id, stream_version
		LIMIT $4`
	selectTypePage = `SELECT stream_type, stream_id, stream_version, event_type, schema_version, payload
		FROM events
		WHERE stream_type = $1 AND (stream_type, stream_id, stream_version) > ($1, $2, $3)
		ORDER BY stream_type, stream_id, stream_version
		LIMIT $4`
)

// readStreams reads the log (only streams of streamType, if it is not empty) and hands
// every stream to flush once all of its events have been read, in batches of at most
// pageSize streams. Only the stream being read and the batch are held in memory; the
// connection is idle while flush runs, so flush may use tx.
func readStreams(ctx context.Context, tx pgx.Tx, codec Codec, o options, streamType string, flush func(context.Context, []*stream) error) (streams, events int64, err error) {
	var after rawEvent
	var cur *stream
	var done []*stream
	for {
		var rows pgx.Rows
		if streamType == "" {
			rows, err = tx.Query(ctx, selectPage, after.stream.Type, after.stream.ID, after.version, o.pageSize)
		} else {
			rows, err = tx.Query(ctx, selectTypePage, streamType, after.stream.ID, after.version, o.pageSize)
		}
		if err != nil {
			return streams, events, fmt.Errorf("read events: %w", err)
		}
		n := 0
		for rows.Next() {
			var e rawEvent
			if err := rows.Scan(&e.stream.Type, &e.stream.ID, &e.version, &e.typ, &e.schema, &e.payload); err != nil {
				rows.Close()
				return streams, events, fmt.Errorf("read events: %w", err)
			}
			n++
			events++
			if cur != nil && cur.id != e.stream {
				done = append(done, cur.finish())
				cur = nil
			}
			if cur == nil {
				streams++
				cur = newStream(e.stream)
			}
			cur.add(e, codec)
			after = rawEvent{stream: e.stream, version: e.version}
		}
		if err := rows.Err(); err != nil {
			return streams, events, fmt.Errorf("read events: %w", err)
		}
		o.observe("events", n)
		last := n < o.pageSize
		if last && cur != nil {
			done = append(done, cur.finish())
			cur = nil
		}
		if len(done) > 0 {
			o.observe("streams", len(done))
			if err := flush(ctx, done); err != nil {
				return streams, events, err
			}
			done = nil
		}
		if last {
			return streams, events, nil
		}
	}
}

// stream is one stream as read: its version bookkeeping, the problems found in the log
// itself and, for an order, what the read model should hold for it.
type stream struct {
	id     eventstore.StreamID
	events int64 // events read
	last   int64 // version of the last event read
	log    []Difference

	versionReported bool

	// Orders only.
	isOrder      bool
	orderID      uuid.UUID
	validID      bool        // the stream id is a UUID in canonical form
	undecodable  *Difference // the first event that could not be decoded: no fold is made
	decoded      []order.Event
	lineVersions []int64 // version of each OrderLineAdded, in order

	// After finish, when comparable: the order_overview row and the lines the events
	// make (row is nil when they make no order).
	comparable bool
	row        *overviewRow
	lines      []lineRow
	foldErr    error
}

func newStream(id eventstore.StreamID) *stream {
	s := &stream{id: id, isOrder: id.Type == orderstore.StreamType}
	if s.isOrder {
		u, err := uuid.Parse(id.ID)
		s.orderID, s.validID = u, err == nil && u.String() == id.ID
		if !s.validID {
			s.diff("stream_id", "a UUID in canonical form (the order id)", fmt.Sprintf("%q", id.ID))
		}
	}
	return s
}

func (s *stream) diff(field, expected, found string) {
	s.log = append(s.log, Difference{Stream: s.id, Field: field, Expected: expected, Found: found})
}

func (s *stream) add(e rawEvent, codec Codec) {
	s.events++
	// Versions must run 1, 2, 3, ...: the first one that does not is reported (after
	// a gap every later version is off by as much, which says nothing new).
	if e.version != s.events && !s.versionReported {
		s.versionReported = true
		s.diff("stream_version", fmt.Sprint(s.events), fmt.Sprint(e.version))
	}
	s.last = e.version
	if !s.isOrder {
		return
	}
	ev, err := codec.Decode(e.typ, int(e.schema), e.payload)
	if err != nil {
		s.decoded = nil // no fold will be made
		s.diff(fmt.Sprintf("event[%d]", e.version), "an event this code can decode",
			fmt.Sprintf("%s v%d (%v)", e.typ, e.schema, err))
		if s.undecodable == nil {
			d := s.log[len(s.log)-1]
			s.undecodable = &d
		}
		return
	}
	placed, isPlaced := ev.(order.OrderPlaced)
	switch {
	case s.events == 1 && !isPlaced:
		s.diff(fmt.Sprintf("event[%d].type", e.version), "OrderPlaced", e.typ)
	case s.events > 1 && isPlaced:
		s.diff(fmt.Sprintf("event[%d].type", e.version), "anything but OrderPlaced (the order is placed by its first event)", e.typ)
	}
	if isPlaced && s.validID && placed.OrderID != s.orderID {
		s.diff(fmt.Sprintf("event[%d].order_id", e.version), s.orderID.String(), placed.OrderID.String())
	}
	if _, ok := ev.(order.OrderLineAdded); ok {
		s.lineVersions = append(s.lineVersions, e.version)
	}
	if s.undecodable == nil {
		s.decoded = append(s.decoded, ev)
	}
}

// finish folds an order stream into the rows it should have in the read model, and
// drops the decoded events.
func (s *stream) finish() *stream {
	if s.isOrder && s.validID && s.undecodable == nil {
		s.comparable = true
		s.row, s.lines, s.foldErr = rowsOf(s.orderID, order.Fold(order.Initial(), s.decoded...), s.last, s.lineVersions)
	}
	s.decoded, s.lineVersions = nil, nil
	return s
}

// overviewRow is an order_overview row.
type overviewRow struct {
	ID         uuid.UUID
	CustomerID string
	Status     string
	Currency   string
	TotalCents int64
	UnitCount  int64
	Version    int64
	PlacedAt   time.Time
	UpdatedAt  time.Time
}

// lineRow is an order_overview_lines row.
type lineRow struct {
	LineNo         int64
	SKU            string
	Quantity       int64
	UnitPriceCents int64
}

// rowsOf is what the inline projection writes for an order whose folded state is st,
// whose last event has version version and whose OrderLineAdded events have
// lineVersions: the state's fields, the version of the last event, and each line
// numbered by the version of the event that added it. PostgreSQL keeps microseconds,
// so times are truncated as the projection's writes are. An order that was never
// placed has no row.
func rowsOf(id uuid.UUID, st order.State, version int64, lineVersions []int64) (*overviewRow, []lineRow, error) {
	if !st.Exists() {
		return nil, nil, nil
	}
	if len(st.Lines) != len(lineVersions) {
		return nil, nil, fmt.Errorf("order %s: the fold made %d lines from %d OrderLineAdded events", id, len(st.Lines), len(lineVersions))
	}
	row := &overviewRow{
		ID: id, CustomerID: st.CustomerID, Status: string(st.Status), Currency: st.Currency,
		TotalCents: st.TotalCents, UnitCount: int64(st.UnitCount), Version: version,
		PlacedAt: dbTime(st.PlacedAt), UpdatedAt: dbTime(st.UpdatedAt),
	}
	lines := make([]lineRow, len(st.Lines))
	for i, l := range st.Lines {
		lines[i] = lineRow{LineNo: lineVersions[i], SKU: l.SKU, Quantity: int64(l.Quantity), UnitPriceCents: l.UnitPriceCents}
	}
	return row, lines, nil
}

// dbTime is t as a timestamptz column gives it back: microseconds, UTC.
func dbTime(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }
