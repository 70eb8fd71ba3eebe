package appkit

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
)

// Page sizes of every list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// PageKey is a position in a newest-first list: (time, id) descending, where the time
// is what the list is ordered by (placed_at for orders, for example).
// Paging by key instead of offset keeps pages stable while items are being added: a
// new one goes before the first page and never shifts the later ones.
type PageKey struct {
	At time.Time
	ID uuid.UUID
}

// Page is one page of a list and the cursor to the next ("" on the last page).
type Page[T any] struct {
	Items      []T
	NextCursor string
	// Next is NextCursor before encoding; the queries port sets it.
	Next *PageKey
}

// withCursor encodes Next as NextCursor.
func (p Page[T]) withCursor() Page[T] {
	if p.Next != nil {
		p.NextCursor = encodeCursor(*p.Next)
	}
	return p
}

// checkLimit applies the default page size and checks the limit.
func checkLimit(limit int, invalid *[]kit.FieldError) int {
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		*invalid = append(*invalid, kit.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxPageSize)})
	}
	return limit
}

// checkCursor decodes a cursor ("" is none).
func checkCursor(cursor string, invalid *[]kit.FieldError) *PageKey {
	if cursor == "" {
		return nil
	}
	key, err := decodeCursor(cursor)
	if err != nil {
		*invalid = append(*invalid, kit.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
	}
	return key
}

// Cursor times outside these bounds cannot have come from this API (and would overflow
// PostgreSQL's timestamp encoding).
var (
	minCursorTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxCursorTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// A cursor is opaque to clients; inside it is "<time unix µs>.<id>" in base64url.
func encodeCursor(k PageKey) string {
	raw := strconv.FormatInt(k.At.UnixMicro(), 10) + "." + k.ID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s string) (*PageKey, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return nil, fmt.Errorf("cursor has no separator")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return nil, err
	}
	if us < minCursorTime.UnixMicro() || us > maxCursorTime.UnixMicro() {
		return nil, fmt.Errorf("cursor time out of range")
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, err
	}
	return &PageKey{At: time.UnixMicro(us).UTC(), ID: uid}, nil
}

// OneOf checks a list's filter by an enumeration: none ("") or one of allowed, else
// a field error that names them ("must be pending, confirmed or cancelled").
func OneOf[T ~string](field string, value T, allowed ...T) []kit.FieldError {
	if value == "" || slices.Contains(allowed, value) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	last := len(names) - 1
	message := "must be " + names[last]
	if last > 0 {
		message = "must be " + strings.Join(names[:last], ", ") + " or " + names[last]
	}
	return []kit.FieldError{{Field: field, Message: message}}
}
