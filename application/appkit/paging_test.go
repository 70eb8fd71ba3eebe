package appkit

import (
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

func TestCheckLimit(t *testing.T) {
	for _, c := range []struct {
		limit, want int
		invalid     bool
	}{
		{0, DefaultPageSize, false}, // absent: the default
		{1, 1, false},
		{MaxPageSize, MaxPageSize, false},
		{MaxPageSize + 1, MaxPageSize + 1, true},
		{-1, -1, true},
	} {
		var invalid []kit.FieldError
		got := checkLimit(c.limit, &invalid)
		if got != c.want || (len(invalid) > 0) != c.invalid {
			t.Errorf("checkLimit(%d) = %d, %v; want %d, invalid %v", c.limit, got, invalid, c.want, c.invalid)
		}
		if c.invalid && (len(invalid) != 1 || invalid[0].Field != "limit" || invalid[0].Message != "must be between 1 and 100") {
			t.Errorf("checkLimit(%d) invalid = %+v", c.limit, invalid)
		}
	}
}

// A cursor is base64url (unpadded) of "<unix µs>.<id>"; the format is pinned, since
// clients hold cursors across a deployment.
func TestCursorRoundTripAndFormat(t *testing.T) {
	id := uuid.MustParse("0b9f6a4e-2c1d-4e8a-9f3b-5d7c1a2e4f60")
	at := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600))
	cursor := encodeCursor(PageKey{At: at, ID: id})
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || string(raw) != strconv.FormatInt(at.UnixMicro(), 10)+"."+id.String() {
		t.Fatalf("cursor %q holds %q (%v)", cursor, raw, err)
	}
	var invalid []kit.FieldError
	key := checkCursor(cursor, &invalid)
	if len(invalid) != 0 || key == nil {
		t.Fatalf("checkCursor(%q) = %v, %+v", cursor, key, invalid)
	}
	want := PageKey{At: time.Date(2026, 5, 6, 5, 8, 9, 123456000, time.UTC), ID: id}
	if key.ID != want.ID || !key.At.Equal(want.At) || key.At.Location() != time.UTC {
		t.Fatalf("cursor decoded as %+v, want %+v (µs, UTC)", key, want)
	}

	if key := checkCursor("", &invalid); key != nil || len(invalid) != 0 {
		t.Fatalf(`checkCursor("") = %v, %+v: want no cursor and no error`, key, invalid)
	}

	page := Page[int]{Items: []int{1}}.withCursor()
	if page.NextCursor != "" {
		t.Fatalf("the last page has cursor %q", page.NextCursor)
	}
	page = Page[int]{Items: []int{1}, Next: &want}.withCursor()
	if page.NextCursor != encodeCursor(want) || page.Next != &want {
		t.Fatalf("page cursor %q, want %q", page.NextCursor, encodeCursor(want))
	}
}

// Cursors this API cannot have issued are a validation error on "cursor"; the times
// allowed are those PostgreSQL's timestamps hold, bounds included.
func TestCheckCursorRefusesWhatTheAPIDidNotIssue(t *testing.T) {
	id := uuid.New().String()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	micros := func(us int64) string { return enc(strconv.FormatInt(us, 10) + "." + id) }
	minUs, maxUs := minCursorTime.UnixMicro(), maxCursorTime.UnixMicro()
	for _, c := range []struct {
		name, cursor string
		ok           bool
	}{
		{"the earliest time", micros(minUs), true},
		{"the latest time", micros(maxUs), true},
		{"before the earliest", micros(minUs - 1), false},
		{"after the latest", micros(maxUs + 1), false},
		{"not base64url", "a+b/c", false},
		{"padded", enc("1.x") + "==", false},
		{"no separator", enc("1234" + id), false},
		{"not a number", enc("12a." + id), false},
		{"not a uuid", enc("1234.not-a-uuid"), false},
	} {
		var invalid []kit.FieldError
		key := checkCursor(c.cursor, &invalid)
		switch {
		case c.ok && (len(invalid) != 0 || key == nil || key.ID.String() != id):
			t.Errorf("%s: checkCursor = %v, %+v; want it accepted", c.name, key, invalid)
		case !c.ok && (len(invalid) != 1 || invalid[0].Field != "cursor" || key != nil):
			t.Errorf("%s: checkCursor = %v, %+v; want one error on cursor", c.name, key, invalid)
		}
	}
	if minCursorTime.Year() != 1 || maxCursorTime.Year() != 9999 || maxCursorTime.Second() != 59 {
		t.Fatalf("cursor bounds %v .. %v", minCursorTime, maxCursorTime)
	}
}
