package verify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// ReadModel is one inline read model as Verify and Rebuild see it. An aggregate's store
// package makes one with For (see Definition); the composition root lists them.
type ReadModel interface {
	Name() string       // e.g. "order_overview"; `orders rebuild NAME` picks it by this
	StreamType() string // the streams it is made of, e.g. "order"
	// Tables are its tables, children first: Rebuild deletes them in this order. The
	// last is the root table: one row per stream, keyed by the stream id (a uuid
	// column), with the stream version it is at. Rebuild locks the root table only, so
	// every statement that writes a child table must write the root table too.
	Tables() []string
	// Root names the root table's id and version columns.
	Root() (table, idColumn, versionColumn string)
	// Open starts reading one stream of StreamType; problems of the stream itself
	// (events that do not decode, do not belong) are reported to d.
	Open(id eventstore.StreamID, d Diff) Stream
	// Load queues on b the queries that read what the read model holds for these
	// streams (all opened by this ReadModel and ended); each row read is counted with
	// row().
	Load(b *pgx.Batch, streams []Stream, row func())
}

// Stream is one stream being read by a ReadModel.
type Stream interface {
	// Add is given every event of the stream, in version order.
	Add(e StoredEvent)
	// Undecodable is the first event that could not be decoded, or nil.
	Undecodable() *Difference
	// Compare folds the events (with the domain's fold, not the projection) into the
	// rows the read model should hold and reports every difference with what Load
	// found. An error is a failure to check at all.
	Compare() error
	// Project replays the aggregate's own inline projection over all of the stream's
	// events into q; false when the stream cannot have rows (its id is not a UUID).
	Project(q aggregatestore.Queue) (bool, error)
}

// StoredEvent is an event as read from the log, not yet decoded.
type StoredEvent struct {
	Type          string
	SchemaVersion int
	Version       int64
	EventID       uuid.UUID
	Position      int64
	RecordedAt    time.Time
	Payload       json.RawMessage
	Metadata      json.RawMessage
}

// Definition is all an aggregate writes to register its inline read model: E is its
// event type, R what the read model holds for one stream (the zero R: nothing).
type Definition[E, R any] struct {
	Name       string   // e.g. "order_overview"
	StreamType string   // e.g. "order"
	Tables     []string // children first, the root table last (see ReadModel.Tables)
	// IDColumn and VersionColumn are the root table's; "id" and "version" if empty.
	IDColumn, VersionColumn string
	Codec                   aggregatestore.Codec[E]
	// Project is the aggregate's inline projection, the one its Store runs: Rebuild
	// replays it, so a rebuild writes what the commands wrote.
	Project aggregatestore.Projection[E]
	// Expect is what the read model should hold for stream id with these events,
	// computed from the domain's fold (an independent check of Project). An error is
	// a failure to check at all.
	Expect func(id uuid.UUID, events []application.RecordedEvent[E]) (R, error)
	// Load queues on b the queries that read the rows of the streams ids; for each row
	// read, the query's callback calls found(id) and fills in the R it returns.
	Load func(b *pgx.Batch, ids []uuid.UUID, found func(id uuid.UUID) *R)
	// Compare reports on d every difference between want (from Expect) and found
	// (from Load) for one stream.
	Compare func(want, found R, d Diff)
	// CheckEvent, if set, checks each decoded event (n is its position in the stream,
	// from 1) and reports on d what does not belong, e.g. a first event that does not
	// create the aggregate.
	CheckEvent func(id uuid.UUID, n int64, e application.RecordedEvent[E], d Diff)
}

// For makes d a ReadModel.
func For[E, R any](d Definition[E, R]) ReadModel {
	if d.IDColumn == "" {
		d.IDColumn = "id"
	}
	if d.VersionColumn == "" {
		d.VersionColumn = "version"
	}
	return &definedModel[E, R]{d}
}

type definedModel[E, R any] struct{ d Definition[E, R] }

func (m *definedModel[E, R]) Name() string       { return m.d.Name }
func (m *definedModel[E, R]) StreamType() string { return m.d.StreamType }
func (m *definedModel[E, R]) Tables() []string   { return m.d.Tables }
func (m *definedModel[E, R]) Root() (string, string, string) {
	return m.d.Tables[len(m.d.Tables)-1], m.d.IDColumn, m.d.VersionColumn
}

func (m *definedModel[E, R]) Open(id eventstore.StreamID, d Diff) Stream {
	s := &definedStream[E, R]{m: m, d: d}
	u, err := uuid.Parse(id.ID)
	s.id, s.validID = u, err == nil && u.String() == id.ID
	if !s.validID {
		d.Report("stream_id", fmt.Sprintf("a UUID in canonical form (the %s id)", m.d.StreamType), strconv.Quote(id.ID))
	}
	return s
}

func (m *definedModel[E, R]) Load(b *pgx.Batch, streams []Stream, row func()) {
	byID := make(map[uuid.UUID]*definedStream[E, R], len(streams))
	ids := make([]uuid.UUID, 0, len(streams))
	for _, s := range streams {
		s := s.(*definedStream[E, R])
		if s.validID && s.undecodable == nil {
			byID[s.id] = s
			ids = append(ids, s.id)
		}
	}
	if len(ids) == 0 {
		return
	}
	var spare R
	m.d.Load(b, ids, func(id uuid.UUID) *R {
		row()
		if s, ok := byID[id]; ok {
			return &s.found
		}
		return &spare // a row the query should not have returned: ignored
	})
}

type definedStream[E, R any] struct {
	m           *definedModel[E, R]
	d           Diff
	id          uuid.UUID
	validID     bool
	n           int64
	events      []application.RecordedEvent[E]
	undecodable *Difference
	found       R
}

func (s *definedStream[E, R]) Add(e StoredEvent) {
	s.n++
	ev, err := s.m.d.Codec.Decode(e.Type, e.SchemaVersion, e.Payload)
	if err != nil {
		d := s.d.Report(fmt.Sprintf("event[%d]", e.Version), "an event this code can decode",
			fmt.Sprintf("%s v%d (%v)", e.Type, e.SchemaVersion, err))
		if s.undecodable == nil {
			s.undecodable = &d
		}
		s.events = nil // no fold will be made
		return
	}
	r := application.RecordedEvent[E]{
		EventID: e.EventID, Type: e.Type, SchemaVersion: e.SchemaVersion, Version: e.Version,
		Position: e.Position, RecordedAt: e.RecordedAt, Event: ev, Data: e.Payload, Metadata: e.Metadata,
	}
	if s.m.d.CheckEvent != nil && s.validID {
		s.m.d.CheckEvent(s.id, s.n, r, s.d)
	}
	if s.undecodable == nil {
		s.events = append(s.events, r)
	}
}

func (s *definedStream[E, R]) Undecodable() *Difference { return s.undecodable }

func (s *definedStream[E, R]) Compare() error {
	defer func() { s.events = nil }()
	if !s.validID || s.undecodable != nil {
		return nil
	}
	want, err := s.m.d.Expect(s.id, s.events)
	if err != nil {
		return err
	}
	s.m.d.Compare(want, s.found, s.d)
	return nil
}

func (s *definedStream[E, R]) Project(q aggregatestore.Queue) (bool, error) {
	defer func() { s.events = nil }()
	if !s.validID {
		return false, nil
	}
	if s.undecodable != nil {
		return false, fmt.Errorf("%w: %s", ErrUndecodable, s.undecodable)
	}
	return true, s.m.d.Project(q, s.id, s.events)
}

// Diff reports differences about one stream, with helpers that format the usual
// kinds of values the same way for every read model.
type Diff struct {
	stream eventstore.StreamID
	report func(Difference)
}

// Report reports that field should be expected but is found, and returns the
// difference.
func (d Diff) Report(field, expected, found string) Difference {
	diff := Difference{Stream: d.stream, Field: field, Expected: expected, Found: found}
	d.report(diff)
	return diff
}

// Text compares strings and shows them quoted.
func (d Diff) Text(field, want, found string) {
	if want != found {
		d.Report(field, strconv.Quote(want), strconv.Quote(found))
	}
}

// Word compares strings and shows them as they are (a status, a currency).
func (d Diff) Word(field, want, found string) {
	if want != found {
		d.Report(field, want, found)
	}
}

// Number compares integers.
func (d Diff) Number(field string, want, found int64) {
	if want != found {
		d.Report(field, fmt.Sprint(want), fmt.Sprint(found))
	}
}

// Instant compares times as instants and shows them in UTC, RFC 3339.
func (d Diff) Instant(field string, want, found time.Time) {
	if !want.Equal(found) {
		d.Report(field, FormatTime(want), FormatTime(found))
	}
}

// Rows compares whether the read model has a row where the events say it should:
// a row missing or one too many is reported (noRow says why the events imply none,
// e.g. "the events place no order") with the version the present row has. It returns
// true when both rows exist, so that the caller compares their fields.
func Rows[R any](d Diff, table, noRow string, want, found *R, version func(*R) int64) bool {
	switch {
	case want == nil && found == nil:
		return false
	case want == nil:
		d.Report(table, "no row ("+noRow+")", fmt.Sprintf("a row at version %d", version(found)))
		return false
	case found == nil:
		d.Report(table, fmt.Sprintf("a row at version %d", version(want)), "no row")
		return false
	}
	return true
}

// FormatTime is how differences show a time.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// DBTime is t as a timestamptz column gives it back: microseconds, UTC. Expect should
// pass the times it computes through it, as the projection's writes are.
func DBTime(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }
