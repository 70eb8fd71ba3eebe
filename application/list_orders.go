package application

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// Page sizes for ListOrders.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ListOrders asks for orders newest first, optionally filtered, one page at a time.
// Limit 0 means DefaultPageSize; Cursor is the NextCursor of the previous page.
type ListOrders struct {
	Status     order.Status
	CustomerID string
	Limit      int
	Cursor     string
	// After is Cursor decoded; the handler sets it for the OrderQueries port.
	After *PageKey
}

// PageKey is a position in the newest-first order: (placed_at, id) descending. Paging by
// key instead of offset keeps pages stable while orders are being placed: a new order
// goes before the first page and never shifts the later ones.
type PageKey struct {
	PlacedAt time.Time
	ID       uuid.UUID
}

// OrderPage is one page of orders and the cursor to the next ("" on the last page).
type OrderPage struct {
	Items      []OrderView
	NextCursor string
	// Next is NextCursor before encoding; the OrderQueries port sets it.
	Next *PageKey
}

// ListOrdersHandler answers ListOrders from the read model.
type ListOrdersHandler struct{ queries OrderQueries }

func NewListOrdersHandler(q OrderQueries) *ListOrdersHandler { return &ListOrdersHandler{queries: q} }

func (h *ListOrdersHandler) Handle(ctx context.Context, q ListOrders) (OrderPage, error) {
	var invalid []order.FieldError
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		invalid = append(invalid, order.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxPageSize)})
	}
	if q.CustomerID != "" && (!utf8.ValidString(q.CustomerID) || utf8.RuneCountInString(q.CustomerID) > order.MaxCustomerIDLength ||
		strings.IndexFunc(q.CustomerID, unicode.IsControl) >= 0) {
		invalid = append(invalid, order.FieldError{Field: "customer_id", Message: fmt.Sprintf("must be at most %d characters of text without control characters", order.MaxCustomerIDLength)})
	}
	switch q.Status {
	case order.StatusNone, order.StatusPending, order.StatusConfirmed, order.StatusCancelled:
	default:
		invalid = append(invalid, order.FieldError{Field: "status", Message: "must be pending, confirmed or cancelled"})
	}
	if q.Cursor != "" {
		key, err := decodeCursor(q.Cursor)
		if err != nil {
			invalid = append(invalid, order.FieldError{Field: "cursor", Message: "is not a cursor returned by this API"})
		}
		q.After = key
	}
	if len(invalid) > 0 {
		return OrderPage{}, fmt.Errorf("list orders: %w", &order.ValidationError{Fields: invalid})
	}
	// A customer lists its own orders only: no customer_id filter means its own, and
	// another customer's id gives an empty page (as a filter that matches nothing).
	customer, visible, err := ownerFilter(ctx, q.CustomerID)
	if err != nil {
		return OrderPage{}, fmt.Errorf("list orders: %w", err)
	}
	if !visible {
		return OrderPage{Items: []OrderView{}}, nil
	}
	q.CustomerID = customer
	page, err := h.queries.ListOrders(ctx, q)
	if err != nil {
		return OrderPage{}, fmt.Errorf("list orders: %w", err)
	}
	if page.Next != nil {
		page.NextCursor = encodeCursor(*page.Next)
	}
	return page, nil
}

// Cursor times outside these bounds cannot have come from this API (and would overflow
// PostgreSQL's timestamp encoding).
var (
	minCursorTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxCursorTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// A cursor is opaque to clients; inside it is "<placed_at unix µs>.<id>" in base64url.
func encodeCursor(k PageKey) string {
	raw := strconv.FormatInt(k.PlacedAt.UnixMicro(), 10) + "." + k.ID.String()
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
	return &PageKey{PlacedAt: time.UnixMicro(us).UTC(), ID: uid}, nil
}
