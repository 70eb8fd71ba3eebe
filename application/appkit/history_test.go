package appkit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// storedStream is one stream's events for history and asOf: event i (version i+1) is
// "e<version>", recorded a minute after the one before; the first names the owner.
type storedStream struct {
	events []RecordedEvent[string]
	asked  []EventRange
	fail   error
}

var streamStart = time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)

func newStoredStream(owner string, n int) *storedStream {
	s := &storedStream{}
	for v := 1; v <= n; v++ {
		e := fmt.Sprintf("e%d", v)
		if v == 1 {
			e = owner
		}
		s.events = append(s.events, RecordedEvent[string]{Version: int64(v), RecordedAt: streamStart.Add(time.Duration(v) * time.Minute), Event: e})
	}
	return s
}

func (s *storedStream) read(_ context.Context, _ uuid.UUID, r EventRange) ([]RecordedEvent[string], error) {
	s.asked = append(s.asked, r)
	if s.fail != nil {
		return nil, s.fail
	}
	out := []RecordedEvent[string]{}
	for _, e := range s.events {
		if e.Version >= max(r.From, 1) && (r.To == 0 || e.Version <= r.To) && (r.Until == nil || !e.RecordedAt.After(*r.Until)) {
			out = append(out, e)
		}
	}
	return out, nil
}

var errNoStream = errors.New("no such stream")

func ownerOf(first string) string { return first }

func historyVersions(events []RecordedEvent[string]) []int64 {
	v := make([]int64, len(events))
	for i, e := range events {
		v[i] = e.Version
	}
	return v
}

func versionSpan(from, to int64) []int64 {
	var v []int64
	for i := from; i <= to; i++ {
		v = append(v, i)
	}
	return v
}

// A stream's history comes in pages of Limit events (100 by default), each read with
// one event more than the page, to tell whether another follows.
func TestHistoryPages(t *testing.T) {
	ctx := WithPrincipal(context.Background(), Principal{Subject: "alice"})
	id := uuid.New()
	for _, c := range []struct {
		q         HistoryQuery
		want      []int64
		nextAfter int64
		asked     []EventRange
	}{
		{HistoryQuery{}, versionSpan(1, 100), 100, []EventRange{{From: 1, To: 101}}},
		{HistoryQuery{After: 100}, versionSpan(101, 200), 200, []EventRange{{From: 101, To: 201}, {From: 1, To: 1}}},
		{HistoryQuery{After: 200}, versionSpan(201, 250), 0, []EventRange{{From: 201, To: 301}, {From: 1, To: 1}}},
		{HistoryQuery{After: 200, Limit: 50}, versionSpan(201, 250), 0, []EventRange{{From: 201, To: 251}, {From: 1, To: 1}}}, // exactly the rest
		{HistoryQuery{After: 200, Limit: 49}, versionSpan(201, 249), 249, []EventRange{{From: 201, To: 250}, {From: 1, To: 1}}},
		{HistoryQuery{Limit: 1}, versionSpan(1, 1), 1, []EventRange{{From: 1, To: 2}}},
		{HistoryQuery{Limit: MaxHistoryPage}, versionSpan(1, 250), 0, []EventRange{{From: 1, To: MaxHistoryPage + 1}}},
		{HistoryQuery{After: 250}, nil, 0, []EventRange{{From: 251, To: 351}, {From: 1, To: 1}}}, // past the end: an empty page
	} {
		s := newStoredStream("alice", 250)
		c.q.ID = id
		page, err := history(ctx, s.read, "counter", c.q, errNoStream, ownerOf)
		if err != nil {
			t.Fatalf("%+v: %v", c.q, err)
		}
		if got := historyVersions(page.Items); !slices.Equal(got, c.want) || page.NextAfter != c.nextAfter {
			t.Errorf("%+v: versions %v next %d, want %v next %d", c.q, got, page.NextAfter, c.want, c.nextAfter)
		}
		if !slices.EqualFunc(s.asked, c.asked, func(a, b EventRange) bool { return a.From == b.From && a.To == b.To && a.Until == nil }) {
			t.Errorf("%+v: read %+v, want %+v", c.q, s.asked, c.asked)
		}
	}
}

func TestHistoryValidatesTheQuery(t *testing.T) {
	ctx := AsSystem(context.Background())
	for _, c := range []struct {
		q      HistoryQuery
		fields []string
	}{
		{HistoryQuery{After: -1}, []string{"after"}},
		{HistoryQuery{After: math.MaxInt64 - MaxHistoryPage}, []string{"after"}}, // After+Limit+1 would overflow
		{HistoryQuery{After: math.MaxInt64 - MaxHistoryPage - 1}, nil},
		{HistoryQuery{Limit: -1}, []string{"limit"}},
		{HistoryQuery{Limit: MaxHistoryPage + 1}, []string{"limit"}},
		{HistoryQuery{After: -5, Limit: 5000}, []string{"after", "limit"}},
	} {
		s := newStoredStream("alice", 3)
		_, err := history(ctx, s.read, "counter", c.q, errNoStream, ownerOf)
		var ve *kit.ValidationError
		if c.fields == nil {
			if errors.As(err, &ve) {
				t.Errorf("%+v: %v", c.q, err)
			}
			continue
		}
		if !errors.As(err, &ve) || len(ve.Fields) != len(c.fields) {
			t.Errorf("%+v: %v, want invalid %v", c.q, err, c.fields)
			continue
		}
		for i, f := range ve.Fields {
			if f.Field != c.fields[i] {
				t.Errorf("%+v: invalid %v, want %v", c.q, ve.Fields, c.fields)
			}
		}
		if len(s.asked) != 0 {
			t.Errorf("%+v: an invalid query read the stream", c.q)
		}
	}
}

// A stream the caller may not read answers like a missing one. Who owns it is told by
// its first event, read for that when the page starts later.
func TestHistoryIsTheOwnersOrAReadersOfAllEvents(t *testing.T) {
	none := context.Background()
	alice := WithPrincipal(none, Principal{Subject: "alice"})
	bob := WithPrincipal(none, Principal{Subject: "bob"})
	auditor := WithPrincipal(none, Principal{Subject: "audit", Scopes: []string{ScopeEventsRead}})
	staff := WithPrincipal(none, Principal{Subject: "clerk", Scopes: []string{ScopeStaff}})
	for _, c := range []struct {
		name  string
		ctx   context.Context
		after int64
		ok    bool
	}{
		{"the owner", alice, 0, true},
		{"the owner, a later page", alice, 3, true},
		{"another customer", bob, 0, false},
		{"another customer, a later page", bob, 3, false},
		{"events:read", auditor, 3, true},
		{"staff", staff, 3, true},
		{"nobody", none, 0, false},
	} {
		s := newStoredStream("alice", 6)
		s.events[3].Event = "bob" // the page's own first event does not name the owner
		page, err := history(c.ctx, s.read, "counter", HistoryQuery{ID: uuid.New(), After: c.after}, errNoStream, ownerOf)
		if c.ok && (err != nil || len(page.Items) != 6-int(c.after)) {
			t.Errorf("%s: %v, %d events", c.name, err, len(page.Items))
		}
		if !c.ok && (!errors.Is(err, errNoStream) || len(page.Items) != 0) {
			t.Errorf("%s: %v, want the not-found error", c.name, err)
		}
	}
	for _, after := range []int64{0, 2} {
		_, err := history(alice, newStoredStream("alice", 0).read, "counter", HistoryQuery{After: after}, errNoStream, ownerOf)
		if !errors.Is(err, errNoStream) {
			t.Errorf("an empty stream after %d: %v, want not found", after, err)
		}
	}
}

func TestHistoryPassesOnReadErrors(t *testing.T) {
	broken := errors.New("connection reset")
	for _, after := range []int64{0, 2} {
		s := newStoredStream("alice", 6)
		s.fail = broken
		if _, err := history(AsSystem(context.Background()), s.read, "counter", HistoryQuery{After: after}, errNoStream, ownerOf); !errors.Is(err, broken) {
			t.Errorf("after %d: %v, want the read's error", after, err)
		}
	}
	// The first event's read fails alone.
	s := newStoredStream("alice", 6)
	failing := func(ctx context.Context, id uuid.UUID, r EventRange) ([]RecordedEvent[string], error) {
		if r.From == 1 && r.To == 1 {
			return nil, broken
		}
		return s.read(ctx, id, r)
	}
	if _, err := history(AsSystem(context.Background()), failing, "counter", HistoryQuery{After: 2}, errNoStream, ownerOf); !errors.Is(err, broken) {
		t.Errorf("the owner's read failed: %v, want its error", err)
	}
}

// collect is a decider whose state lists the events folded.
var collect = kit.Decider[string, string, []string]{
	Evolve: func(s []string, e string) []string { return append(slices.Clip(s), e) },
}

func TestAsOf(t *testing.T) {
	ctx, id := AsSystem(context.Background()), uuid.New()
	minute := func(m float64) *time.Time {
		t := streamStart.Add(time.Duration(m * float64(time.Minute)))
		return &t
	}
	for _, c := range []struct {
		name    string
		version int64
		at      *time.Time
		want    []string // nil: not found
	}{
		{"a version", 3, nil, []string{"alice", "e2", "e3"}},
		{"the first version", 1, nil, []string{"alice"}},
		{"the last version", 5, nil, []string{"alice", "e2", "e3", "e4", "e5"}},
		{"a version after the last", 6, nil, nil},
		{"a time between two events", 0, minute(2.5), []string{"alice", "e2"}},
		{"a time after the last event", 0, minute(60), []string{"alice", "e2", "e3", "e4", "e5"}},
		{"a time before the first event", 0, minute(0.5), nil},
	} {
		s := newStoredStream("alice", 5)
		got, err := asOf(ctx, s.read, collect, "counter", errNoStream, id, c.version, c.at)
		if c.want == nil {
			if !errors.Is(err, errNoStream) {
				t.Errorf("%s: %+v, %v; want not found", c.name, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got.State, c.want) || got.Version != int64(len(c.want)) {
			t.Errorf("%s: %+v, %v; want %v at version %d", c.name, got, err, c.want, len(c.want))
		}
		if len(s.asked) != 1 || s.asked[0].From != 0 || s.asked[0].To != c.version || s.asked[0].Until != c.at {
			t.Errorf("%s: read %+v, want to version %d, until %v", c.name, s.asked, c.version, c.at)
		}
	}
	if _, err := asOf(ctx, newStoredStream("alice", 0).read, collect, "counter", errNoStream, id, 1, nil); !errors.Is(err, errNoStream) {
		t.Errorf("an empty stream: %v, want not found", err)
	}
	broken := newStoredStream("alice", 5)
	broken.fail = errors.New("connection reset")
	if _, err := asOf(ctx, broken.read, collect, "counter", errNoStream, id, 1, nil); !errors.Is(err, broken.fail) {
		t.Errorf("a failed read: %v, want its error", err)
	}
}

// Exactly one of version and time: anything else is invalid, and nothing is read.
func TestAsOfNeedsAVersionOrATime(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		version int64
		at      *time.Time
	}{{0, nil}, {2, &now}, {-1, nil}} {
		s := newStoredStream("alice", 5)
		_, err := asOf(AsSystem(context.Background()), s.read, collect, "counter", errNoStream, uuid.New(), c.version, c.at)
		var ve *kit.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "version" {
			t.Errorf("version %d, at %v: %v, want invalid version", c.version, c.at, err)
		}
		if len(s.asked) != 0 {
			t.Errorf("version %d, at %v: an invalid request read the stream", c.version, c.at)
		}
	}
}

func TestFoldIsTheStateAtTheLastVersion(t *testing.T) {
	sum := kit.Decider[int, int, int]{Evolve: func(s, e int) int { return s + e }}
	if v := Fold(sum, []RecordedEvent[int]{{Event: 2, Version: 4}, {Event: 3, Version: 5}}); v.State != 5 || v.Version != 5 {
		t.Errorf("Fold = %+v, want 5 at version 5", v)
	}
	if v := Fold(sum, nil); v.State != 0 || v.Version != 0 {
		t.Errorf("Fold of none = %+v, want the initial state at version 0", v)
	}
}
