package appkit

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// ownedStreams are OwnedReads over storedStreams: the read model by id is the stream
// folded by collect, so its first element names the owner.
type ownedStreams map[uuid.UUID]*storedStream

func (o ownedStreams) ByID(ctx context.Context, id uuid.UUID) (Versioned[[]string], error) {
	s, ok := o[id]
	if !ok {
		return Versioned[[]string]{}, errNoStream
	}
	events, err := s.read(ctx, id, EventRange{})
	if err != nil {
		return Versioned[[]string]{}, err
	}
	return Versioned[[]string]{State: collect.Fold(nil, eventsOf(events)...), Version: int64(len(events))}, nil
}

func (o ownedStreams) Events(ctx context.Context, id uuid.UUID, r EventRange) ([]RecordedEvent[string], error) {
	s, ok := o[id]
	if !ok {
		return []RecordedEvent[string]{}, nil
	}
	return s.read(ctx, id, r)
}

func eventsOf(recorded []RecordedEvent[string]) []string {
	var events []string
	for _, e := range recorded {
		events = append(events, e.Event)
	}
	return events
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Another customer's aggregate is answered as not found, by Get (from the read model)
// and by AsOf (folded from the events), like a missing one; its owner and staff see it,
// and a failed read is the answer's error.
func TestOwnedReadsAnswerAnotherCustomersAsNotFound(t *testing.T) {
	id, missing, broken := uuid.New(), uuid.New(), uuid.New()
	failure := errors.New("connection reset")
	failing := newStoredStream("alice", 3)
	failing.fail = failure
	owned := NewOwned("counter", ownedStreams{id: newStoredStream("alice", 3), broken: failing}, collect, errNoStream, firstOf)
	none := context.Background()
	alice := WithPrincipal(none, Principal{Subject: "alice"})
	bob := WithPrincipal(none, Principal{Subject: "bob"})
	staff := WithPrincipal(none, Principal{Subject: "clerk", Scopes: []string{ScopeStaff}})
	at := streamStart.Add(2 * time.Minute) // the second event's time
	for _, c := range []struct {
		name string
		ctx  context.Context
		id   uuid.UUID
		want error // nil: the stream is answered
	}{
		{"the owner", alice, id, nil},
		{"staff", staff, id, nil},
		{"another customer", bob, id, errNoStream},
		{"nobody", none, id, errNoStream},
		{"a missing stream", alice, missing, errNoStream},
		{"a failed read", alice, broken, failure},
	} {
		got, err := owned.Get(c.ctx, c.id)
		if c.want == nil && (err != nil || got.Version != 3 || !slices.Equal(got.State, []string{"alice", "e2", "e3"})) {
			t.Errorf("%s: Get %+v %v, want the stream at version 3", c.name, got, err)
		}
		if c.want != nil && (!errors.Is(err, c.want) || got.Version != 0 || got.State != nil) {
			t.Errorf("%s: Get %+v %v, want %v and nothing else", c.name, got, err, c.want)
		}
		got, err = owned.AsOf(c.ctx, c.id, 0, &at)
		if c.want == nil && (err != nil || got.Version != 2 || !slices.Equal(got.State, []string{"alice", "e2"})) {
			t.Errorf("%s: AsOf %+v %v, want the stream at version 2", c.name, got, err)
		}
		if c.want != nil && (!errors.Is(err, c.want) || got.Version != 0 || got.State != nil) {
			t.Errorf("%s: AsOf %+v %v, want %v and nothing else", c.name, got, err, c.want)
		}
	}
}

// listCall is what List asked the list function for.
type listCall struct {
	limit    int
	after    *PageKey
	customer string
}

// List checks the limit and the cursor with the aggregate's own checks, narrows the
// query to what the caller may see (a customer lists its own only; another customer's
// is an empty page, not an error), and encodes the next page's cursor.
func TestListNarrowsToWhatTheCallerMaySee(t *testing.T) {
	none := context.Background()
	alice := WithPrincipal(none, Principal{Subject: "alice"})
	staff := WithPrincipal(none, Principal{Subject: "clerk", Scopes: []string{ScopeStaff}})
	next := PageKey{At: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), ID: uuid.New()}
	cursor := encodeCursor(next)
	failure := errors.New("connection reset")
	statusInvalid := []kit.FieldError{{Field: "status", Message: "unknown"}}
	for _, c := range []struct {
		name     string
		ctx      context.Context
		limit    int
		cursor   string
		customer string
		invalid  []kit.FieldError
		fail     error
		want     *listCall // nil: the list is not run
		wantErr  error
		wantBad  []string // the fields of the validation error
	}{
		{"a customer's own", alice, 0, "", "", nil, nil, &listCall{DefaultPageSize, nil, "alice"}, nil, nil},
		{"a customer naming itself", alice, 5, cursor, "alice", nil, nil, &listCall{5, &next, "alice"}, nil, nil},
		{"another customer's", alice, 5, "", "bob", nil, nil, nil, nil, nil},
		{"staff, everyone's", staff, 0, "", "", nil, nil, &listCall{DefaultPageSize, nil, ""}, nil, nil},
		{"staff, one customer's", staff, MaxPageSize, "", "bob", nil, nil, &listCall{MaxPageSize, nil, "bob"}, nil, nil},
		{"nobody", none, 0, "", "", nil, nil, nil, ErrUnauthenticated, nil},
		{"a failed list", alice, 0, "", "", nil, failure, &listCall{DefaultPageSize, nil, "alice"}, failure, nil},
		{"the aggregate's own check", staff, 0, "", "", statusInvalid, nil, nil, nil, []string{"status"}},
		{"a limit too big", staff, MaxPageSize + 1, "", "", nil, nil, nil, nil, []string{"limit"}},
		{"a cursor not issued", staff, 0, "nonsense", "", nil, nil, nil, nil, []string{"cursor"}},
		{"all three", staff, -1, "nonsense", "", statusInvalid, nil, nil, nil, []string{"status", "limit", "cursor"}},
	} {
		var calls []listCall
		page, err := List(c.ctx, "counters", c.limit, c.cursor, c.customer, slices.Clone(c.invalid), func(limit int, after *PageKey, customer string) (Page[string], error) {
			calls = append(calls, listCall{limit, after, customer})
			if c.fail != nil {
				return Page[string]{}, c.fail
			}
			return Page[string]{Items: []string{"x"}, Next: &next}, nil
		})
		switch {
		case c.want == nil && len(calls) != 0, c.want != nil && (len(calls) != 1 || calls[0].limit != c.want.limit || calls[0].customer != c.want.customer ||
			(calls[0].after == nil) != (c.want.after == nil) || calls[0].after != nil && *calls[0].after != *c.want.after):
			t.Errorf("%s: listed %+v, want %+v", c.name, calls, c.want)
		}
		var invalid *kit.ValidationError
		switch {
		case c.wantBad != nil:
			var fields []string
			if errors.As(err, &invalid) {
				for _, f := range invalid.Fields {
					fields = append(fields, f.Field)
				}
			}
			if !slices.Equal(fields, c.wantBad) {
				t.Errorf("%s: %v, want a validation error of %v", c.name, err, c.wantBad)
			}
		case c.wantErr != nil:
			if !errors.Is(err, c.wantErr) || page.Items != nil || page.NextCursor != "" {
				t.Errorf("%s: %+v %v, want %v and no page", c.name, page, err, c.wantErr)
			}
		case c.want == nil: // another customer's
			if err != nil || page.Items == nil || len(page.Items) != 0 || page.NextCursor != "" {
				t.Errorf("%s: %+v %v, want an empty page", c.name, page, err)
			}
		default:
			if err != nil || !slices.Equal(page.Items, []string{"x"}) || page.NextCursor != cursor {
				t.Errorf("%s: %+v %v, want the page and its next cursor %q", c.name, page, err, cursor)
			}
		}
	}
}
