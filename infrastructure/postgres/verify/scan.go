package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// DB is what Verify and Rebuild need: a *pgxpool.Pool or a *pgx.Conn.
type DB interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// DefaultPageSize is how many events (and read-model rows) one page holds by default.
const DefaultPageSize = 2000

// Option adjusts Verify or Rebuild.
type Option func(*options)

type options struct {
	pageSize    int
	lockTimeout time.Duration
	observe     func(what string, n int) // for tests: the size of every page and batch
	// unregistered, when set, is told of the stream types without a read model instead
	// of Verify reporting each as a difference (Unregistered).
	unregistered func(streamType string, streams int64)
	// logOnly are stream types with no read model by design (LogOnly).
	logOnly map[string]bool
}

// PageSize sets how many events are read per query, and so how many streams are looked
// up or written per batch. Memory grows with it (and with the largest stream), not with
// the size of the log. Values below 1 mean DefaultPageSize.
func PageSize(n int) Option { return func(o *options) { o.pageSize = n } }

// LockTimeout bounds how long Rebuild waits for its table locks (default 10s; 0 waits
// as long as the context allows). While Rebuild waits, every command that wants to
// write the read model queues behind it, so it should give up rather than wait long.
func LockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// Unregistered makes Verify hand each stream type that no read model in its models is
// made of to report, with its number of streams, instead of reporting it as a
// difference. Their streams' versions and heads are checked all the same; their events
// are not compared with anything. It is for the history of an aggregate the service no
// longer has: its events stay in the log after it is removed, with no read model to
// check them against (`orders verify` says so and passes).
func Unregistered(report func(streamType string, streams int64)) Option {
	return func(o *options) { o.unregistered = report }
}

// LogOnly names stream types that have no read model by design, such as the customers'
// erasure records: their streams' versions and heads are checked, and they are not
// reported as unregistered.
func LogOnly(streamTypes ...string) Option {
	return func(o *options) {
		if o.logOnly == nil {
			o.logOnly = map[string]bool{}
		}
		for _, t := range streamTypes {
			o.logOnly[t] = true
		}
	}
}

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
	stream eventstore.StreamID
	StoredEvent
}

// The log in stream order, a keyset page at a time; the UNIQUE (stream_type, stream_id,
// stream_version) index serves both the order and the row comparison. Versions are
// positive (CHECK), so empty strings and version 0 make a key below every row.
const (
	selectPage = `SELECT stream_type, stream_id, stream_version, event_type, schema_version, payload,
		  event_id, global_position, recorded_at, metadata
		FROM events
		WHERE (stream_type, stream_id, stream_version) > ($1, $2, $3)
		ORDER BY stream_type, stream_id, stream_version
		LIMIT $4`
	selectTypePage = `SELECT stream_type, stream_id, stream_version, event_type, schema_version, payload,
		  event_id, global_position, recorded_at, metadata
		FROM events
		WHERE stream_type = $1 AND (stream_type, stream_id, stream_version) > ($1, $2, $3)
		ORDER BY stream_type, stream_id, stream_version
		LIMIT $4`
)

// readStreams reads the log (only streams of streamType, if it is not empty) and hands
// every stream to flush once all of its events have been read, in batches of at most
// pageSize streams. A stream whose type has a read model (modelOf) is read by it as
// well. Only the stream being read and the batch are held in memory; the connection
// is idle while flush runs, so flush may use tx.
func readStreams(ctx context.Context, tx pgx.Tx, o options, streamType string, modelOf func(string) ReadModel, flush func(context.Context, []*stream) error) (streams, events int64, err error) {
	var after rawEvent
	var cur *stream
	var done []*stream
	for {
		var rows pgx.Rows
		if streamType == "" {
			rows, err = tx.Query(ctx, selectPage, after.stream.Type, after.stream.ID, after.Version, o.pageSize)
		} else {
			rows, err = tx.Query(ctx, selectTypePage, streamType, after.stream.ID, after.Version, o.pageSize)
		}
		if err != nil {
			return streams, events, fmt.Errorf("read events: %w", err)
		}
		n := 0
		for rows.Next() {
			var e rawEvent
			var schema int32
			if err := rows.Scan(&e.stream.Type, &e.stream.ID, &e.Version, &e.Type, &schema, &e.Payload,
				&e.EventID, &e.Position, &e.RecordedAt, &e.Metadata); err != nil {
				rows.Close()
				return streams, events, fmt.Errorf("read events: %w", err)
			}
			e.SchemaVersion = int(schema)
			n++
			events++
			if cur != nil && cur.id != e.stream {
				done = append(done, cur)
				cur = nil
			}
			if cur == nil {
				streams++
				cur = newStream(e.stream, modelOf(e.stream.Type))
			}
			cur.add(e.StoredEvent)
			after = rawEvent{stream: e.stream, StoredEvent: StoredEvent{Version: e.Version}}
		}
		if err := rows.Err(); err != nil {
			return streams, events, fmt.Errorf("read events: %w", err)
		}
		o.observe("events", n)
		last := n < o.pageSize
		if last && cur != nil {
			done = append(done, cur)
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
// itself and, when its type has a read model, that read model's reading of it.
type stream struct {
	id     eventstore.StreamID
	events int64 // events read
	last   int64 // version of the last event read
	log    []Difference

	versionReported bool

	model ReadModel // nil: no read model registered for the stream type
	rm    Stream
}

func newStream(id eventstore.StreamID, model ReadModel) *stream {
	s := &stream{id: id, model: model}
	if model != nil {
		s.rm = model.Open(id, s.diff())
	}
	return s
}

// diff reports on the stream's log.
func (s *stream) diff() Diff {
	return Diff{stream: s.id, report: func(d Difference) { s.log = append(s.log, d) }}
}

func (s *stream) add(e StoredEvent) {
	s.events++
	// Versions must run 1, 2, 3, ...: the first one that does not is reported (after
	// a gap every later version is off by as much, which says nothing new).
	if e.Version != s.events && !s.versionReported {
		s.versionReported = true
		s.diff().Report("stream_version", fmt.Sprint(s.events), fmt.Sprint(e.Version))
	}
	s.last = e.Version
	if s.rm != nil {
		s.rm.Add(e)
	}
}
