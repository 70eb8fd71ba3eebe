package verify

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// ReadModel is one inline read model as Verify and Rebuild see it. An aggregate's store
// package makes one with For (see Definition); the composition root lists them.
type ReadModel interface {
	Name() string       // e.g. "order_overview"; `orders rebuild NAME` picks it by this
	StreamType() string // the streams it is made of, e.g. "order"
	// EventTypes are the names of the event types its streams hold (its codec's): the
	// service derives from them what GET /events accepts in ?types=.
	EventTypes() []string
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
// event type, R what the read model holds for one stream.
//
// R is a struct with one field per table of the read model, each tagged with the
// table's name: a pointer to a row struct for the root table (nil: no row), and a
// slice of row structs, in key order, for each child table, with the column that holds
// the stream id, the column that tells its rows apart, and the name differences give
// them:
//
//	type overview struct {
//		Row   *overviewRow `verify:"order_overview"`
//		Lines []lineRow    `verify:"order_overview_lines,stream=order_id,key=line_no,as=lines"`
//	}
//
// Each field of a row struct is one column, named by its db tag (`db:"status,word"`
// shows the value unquoted, as a status or a currency reads best). Verify reads every
// column of every row (to_jsonb of the row) and compares each with the row struct's
// field of that name: a column the row struct has no field for is a difference on
// every row, so a column added by a migration is checked from the start, and a
// projection that forgets to fill it is caught once Expect says what it should hold.
// A NULL is only equal to a nil pointer.
type Definition[E, R any] struct {
	Name       string // e.g. "order_overview"
	StreamType string // e.g. "order"
	// IDColumn and VersionColumn are the root table's; "id" and "version" if empty.
	// The root row struct has a field for the version column (the id column is how
	// the row is found and needs none).
	IDColumn, VersionColumn string
	// NoRow says why events can imply no root row, e.g. "the events place no order";
	// "the events make no row" if empty.
	NoRow string
	Codec Codec[E]
	// Project is the aggregate's inline projection, the one its Store runs: Rebuild
	// replays it, so a rebuild writes what the commands wrote.
	Project aggregatestore.Projection[E]
	// Expect is what the read model should hold for stream id with these events,
	// computed from the domain's fold (an independent check of Project). An error is
	// a failure to check at all.
	Expect func(id uuid.UUID, events []appkit.RecordedEvent[E]) (R, error)
	// CheckEvent, if set, checks each decoded event (n is its position in the stream,
	// from 1) and reports on d what does not belong, e.g. a first event that does not
	// create the aggregate.
	CheckEvent func(id uuid.UUID, n int64, e appkit.RecordedEvent[E], d Diff)
}

// Codec is what a read model needs of its aggregate's event codec
// (eventcodec.Registry): decoding, and the names of the event types it knows.
type Codec[E any] interface {
	Decode(name string, version int, payload []byte) (E, error)
	Names() []string
}

// For makes d a ReadModel. It panics if R is not shaped as Definition says: that is a
// programming error, found by the first test that registers the read model.
func For[E, R any](d Definition[E, R]) ReadModel {
	if d.IDColumn == "" {
		d.IDColumn = "id"
	}
	if d.VersionColumn == "" {
		d.VersionColumn = "version"
	}
	if d.NoRow == "" {
		d.NoRow = "the events make no row"
	}
	tables, err := tablesOf(reflect.TypeFor[R](), d.IDColumn, d.VersionColumn)
	if err != nil {
		panic(fmt.Sprintf("verify.For(%s): %v", d.Name, err))
	}
	return &definedModel[E, R]{d: d, tables: tables}
}

type definedModel[E, R any] struct {
	d      Definition[E, R]
	tables []table // children first, the root last
}

func (m *definedModel[E, R]) Name() string         { return m.d.Name }
func (m *definedModel[E, R]) StreamType() string   { return m.d.StreamType }
func (m *definedModel[E, R]) EventTypes() []string { return m.d.Codec.Names() }
func (m *definedModel[E, R]) Tables() []string {
	names := make([]string, len(m.tables))
	for i, t := range m.tables {
		names[i] = t.name
	}
	return names
}
func (m *definedModel[E, R]) Root() (string, string, string) {
	return m.tables[len(m.tables)-1].name, m.d.IDColumn, m.d.VersionColumn
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
			s.found = make([][]foundRow, len(m.tables))
			byID[s.id] = s
			ids = append(ids, s.id)
		}
	}
	if len(ids) == 0 {
		return
	}
	for i, t := range m.tables {
		t.load(b, ids, func(id uuid.UUID, r foundRow) {
			row()
			if s, ok := byID[id]; ok {
				s.found[i] = append(s.found[i], r)
			} // else a row the query should not have returned: ignored
		})
	}
}

type definedStream[E, R any] struct {
	m           *definedModel[E, R]
	d           Diff
	id          uuid.UUID
	validID     bool
	n           int64
	events      []appkit.RecordedEvent[E]
	undecodable *Difference
	found       [][]foundRow // by table, as m.tables
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
	r := appkit.RecordedEvent[E]{
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
	defer func() { s.events, s.found = nil, nil }()
	if !s.validID || s.undecodable != nil {
		return nil
	}
	want, err := s.m.d.Expect(s.id, s.events)
	if err != nil {
		return err
	}
	w := reflect.ValueOf(want)
	root := len(s.m.tables) - 1
	// The root row first: without it, its children are not compared.
	if !s.m.tables[root].compareRoot(s.d, s.m.d.NoRow, w, s.found[root]) {
		return nil
	}
	for i, t := range s.m.tables[:root] {
		t.compareChildren(s.d, w, s.found[i])
	}
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

// FormatTime is how differences show a time.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// DBTime is t as a timestamptz column gives it back: microseconds, UTC. Expect should
// pass the times it computes through it, as the projection's writes are.
func DBTime(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }
