package application

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/example/orders/domain/order"
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

// OrderPage is one page of orders and the cursor to the next ("" on the last page).
type OrderPage = Page[OrderView]

// ListOrdersHandler answers ListOrders from the read model.
type ListOrdersHandler struct{ queries OrderQueries }

func NewListOrdersHandler(q OrderQueries) *ListOrdersHandler { return &ListOrdersHandler{queries: q} }

func (h *ListOrdersHandler) Handle(ctx context.Context, q ListOrders) (OrderPage, error) {
	var invalid []order.FieldError
	q.Limit = checkLimit(q.Limit, &invalid)
	if q.CustomerID != "" && (!utf8.ValidString(q.CustomerID) || utf8.RuneCountInString(q.CustomerID) > order.MaxCustomerIDLength ||
		strings.IndexFunc(q.CustomerID, unicode.IsControl) >= 0) {
		invalid = append(invalid, order.FieldError{Field: "customer_id", Message: fmt.Sprintf("must be at most %d characters of text without control characters", order.MaxCustomerIDLength)})
	}
	switch q.Status {
	case order.StatusNone, order.StatusPending, order.StatusConfirmed, order.StatusCancelled:
	default:
		invalid = append(invalid, order.FieldError{Field: "status", Message: "must be pending, confirmed or cancelled"})
	}
	q.After = checkCursor(q.Cursor, &invalid)
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
	return page.withCursor(), nil
}
