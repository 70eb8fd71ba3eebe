package order

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the rules below, exported so that the API contract and tests can quote them.
const (
	MaxCustomerIDLength = 64
	MaxSKULength        = 64
	MinQuantity         = 1
	MaxQuantity         = 1000
	MaxUnitPriceCents   = 100_000_000
	MaxReasonLength     = 500
)

// Decide turns a command into the events that record it, or explains with a typed error
// why it cannot be done. No events and no error means the command is already satisfied
// (confirming a confirmed order, cancelling a cancelled one).
func Decide(s State, c Command) ([]Event, error) {
	switch c := c.(type) {
	case PlaceOrder:
		return place(s, c)
	case AddLine:
		return addLine(s, c)
	case Confirm:
		return confirm(s, c)
	case Cancel:
		return cancel(s, c)
	default:
		return nil, fmt.Errorf("order: unknown command %T", c)
	}
}

func place(s State, c PlaceOrder) ([]Event, error) {
	var v validation
	if c.OrderID == [16]byte{} {
		v.add("id", "must not be the nil UUID")
	}
	checkText(&v, "customer_id", c.CustomerID, MaxCustomerIDLength, false)
	if !isCurrencyCode(c.Currency) {
		v.add("currency", "must be three upper-case letters (ISO 4217), such as EUR")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if s.Exists() {
		return nil, ErrAlreadyPlaced
	}
	return []Event{OrderPlaced{OrderID: c.OrderID, CustomerID: c.CustomerID, Currency: c.Currency, PlacedAt: c.At}}, nil
}

func addLine(s State, c AddLine) ([]Event, error) {
	var v validation
	checkText(&v, "sku", c.SKU, MaxSKULength, false)
	if c.Quantity < MinQuantity || c.Quantity > MaxQuantity {
		v.add("quantity", fmt.Sprintf("must be between %d and %d", MinQuantity, MaxQuantity))
	}
	if c.UnitPriceCents < 0 || c.UnitPriceCents > MaxUnitPriceCents {
		v.add("unit_price_cents", fmt.Sprintf("must be between 0 and %d", MaxUnitPriceCents))
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if s.Status != StatusPending {
		return nil, ErrNotPending
	}
	// Quantity and price are bounded above, so their product fits; the running sums
	// are what could overflow after very many lines.
	amount := int64(c.Quantity) * c.UnitPriceCents
	if s.TotalCents > math.MaxInt64-amount || s.LineCount > math.MaxInt32-c.Quantity {
		return nil, ErrTotalTooLarge
	}
	return []Event{OrderLineAdded{SKU: c.SKU, Quantity: c.Quantity, UnitPriceCents: c.UnitPriceCents, AddedAt: c.At}}, nil
}

func confirm(s State, c Confirm) ([]Event, error) {
	switch s.Status {
	case StatusNone:
		return nil, ErrNotFound
	case StatusConfirmed:
		return nil, nil
	case StatusCancelled:
		return nil, ErrCancelled
	}
	if len(s.Lines) == 0 {
		return nil, ErrNoLines
	}
	return []Event{OrderConfirmed{ConfirmedAt: c.At}}, nil
}

func cancel(s State, c Cancel) ([]Event, error) {
	var v validation
	checkText(&v, "reason", c.Reason, MaxReasonLength, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	switch s.Status {
	case StatusNone:
		return nil, ErrNotFound
	case StatusCancelled:
		return nil, nil
	}
	return []Event{OrderCancelled{Reason: c.Reason, CancelledAt: c.At}}, nil
}

// checkText enforces the rules every free-text field shares: valid UTF-8, a length in
// characters (not bytes), no control characters (PostgreSQL cannot store NUL, and the
// others are never meant), and, unless it is optional free text, not blank.
func checkText(v *validation, field, s string, maxChars int, freeText bool) {
	switch {
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case !freeText && strings.TrimSpace(s) == "":
		v.add(field, "must not be blank")
	case utf8.RuneCountInString(s) > maxChars:
		v.add(field, fmt.Sprintf("must be at most %d characters", maxChars))
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && !(freeText && (r == '\n' || r == '\t' || r == '\r')) }) >= 0:
		v.add(field, "must not contain control characters")
	}
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
