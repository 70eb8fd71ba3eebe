package order_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit/kittest"
	"github.com/example/orders/domain/order"
)

// t0 is the fixed clock of every test; at(n) is n minutes later.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

var (
	orderID      = uuid.MustParse("0b9f6a4e-2c1d-4e8a-9f3b-5d7c1a2e4f60")
	otherOrderID = uuid.MustParse("7d3c2b1a-0f9e-4d8c-b7a6-958473625140")
)

// Events used as "given" facts.

func placed() order.Event {
	return order.OrderPlaced{OrderID: orderID, CustomerID: "cust-1", Currency: "EUR", PlacedAt: at(0)}
}

func lineAdded(sku string, quantity int, unitPriceCents int64) order.Event {
	return order.OrderLineAdded{SKU: sku, Quantity: quantity, UnitPriceCents: unitPriceCents, AddedAt: at(1)}
}

func confirmed() order.Event { return order.OrderConfirmed{ConfirmedAt: at(2)} }

func cancelled() order.Event {
	return order.OrderCancelled{Reason: "changed my mind", CancelledAt: at(3)}
}

func given(events ...order.Event) []order.Event { return events }

func then(events ...order.Event) []order.Event { return events }

// Histories that reach each status.
var (
	neverPlaced         = given()
	pendingNoLines      = given(placed())
	pendingWithLine     = given(placed(), lineAdded("SKU-1", 2, 150))
	confirmedOrder      = given(placed(), lineAdded("SKU-1", 2, 150), confirmed())
	cancelledPending    = given(placed(), lineAdded("SKU-1", 2, 150), cancelled())
	cancelledNoLines    = given(placed(), cancelled())
	cancelledAfterConfd = given(placed(), lineAdded("SKU-1", 2, 150), confirmed(), cancelled())
)

// conflictCodes pins the machine-readable code of every conflict the decider returns.
var conflictCodes = map[error]string{
	order.ErrAlreadyPlaced: "order_already_placed",
	order.ErrNotPending:    "order_not_pending",
	order.ErrNoLines:       "order_has_no_lines",
	order.ErrCancelled:     "order_cancelled",
	order.ErrTotalTooLarge: "order_total_too_large",
	order.ErrTooManyLines:  "order_too_many_lines",
}

// spec is one given/when/then case. Exactly one of then (possibly empty, meaning "no
// events and no error"), wantErr and wantFields describes the expected outcome.
type spec struct {
	name       string
	given      []order.Event
	when       order.Command
	then       []order.Event
	wantErr    error    // matched with errors.Is
	wantFields []string // a *order.ValidationError with exactly these fields, in order
}

func runSpecs(t *testing.T, specs []spec) {
	t.Helper()
	cases := make([]kittest.Case[order.Command, order.Event], len(specs))
	for i, sp := range specs {
		if code, ok := conflictCodes[sp.wantErr]; ok {
			var ce *order.ConflictError
			if !errors.As(sp.wantErr, &ce) || ce.Code != code {
				t.Fatalf("spec %q: conflict %v does not carry code %q", sp.name, sp.wantErr, code)
			}
		}
		cases[i] = kittest.Case[order.Command, order.Event]{Name: sp.name, Given: sp.given, When: sp.when,
			Then: sp.then, WantErr: sp.wantErr, WantFields: sp.wantFields}
	}
	kittest.Run(t, order.Decider, cases)
}

// eventsEqual treats a nil and an empty list as equal.
func eventsEqual(a, b []order.Event) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func fieldNames(ve *order.ValidationError) []string {
	names := make([]string, len(ve.Fields))
	for i, f := range ve.Fields {
		names[i] = f.Field
	}
	return names
}

func cloneState(s order.State) order.State {
	s.Lines = slices.Clone(s.Lines)
	return s
}

func validPlace() order.PlaceOrder {
	return order.PlaceOrder{OrderID: orderID, CustomerID: "cust-1", Currency: "EUR", At: at(10)}
}

func placeWith(modify func(*order.PlaceOrder)) order.PlaceOrder {
	c := validPlace()
	modify(&c)
	return c
}

func placedFrom(c order.PlaceOrder) order.Event {
	return order.OrderPlaced{OrderID: c.OrderID, CustomerID: c.CustomerID, Currency: c.Currency, PlacedAt: c.At}
}

func TestDecidePlaceOrder(t *testing.T) {
	withCustomer := func(id string) order.PlaceOrder {
		return placeWith(func(c *order.PlaceOrder) { c.CustomerID = id })
	}
	withCurrency := func(cur string) order.PlaceOrder {
		return placeWith(func(c *order.PlaceOrder) { c.Currency = cur })
	}
	withID := func(id uuid.UUID) order.PlaceOrder {
		return placeWith(func(c *order.PlaceOrder) { c.OrderID = id })
	}
	ok := func(name string, c order.PlaceOrder) spec {
		return spec{name: name, given: neverPlaced, when: c, then: then(placedFrom(c))}
	}
	bad := func(name string, c order.PlaceOrder, fields ...string) spec {
		return spec{name: name, given: neverPlaced, when: c, wantFields: fields}
	}

	runSpecs(t, []spec{
		{
			name:  "places a new order with every field and PlacedAt from the command",
			given: neverPlaced,
			when:  order.PlaceOrder{OrderID: orderID, CustomerID: "cust-1", Currency: "EUR", At: at(10)},
			then: then(order.OrderPlaced{
				OrderID: orderID, CustomerID: "cust-1", Currency: "EUR", PlacedAt: at(10),
			}),
		},

		bad("customer id empty is rejected", withCustomer(""), "customer_id"),
		bad("customer id of spaces is rejected", withCustomer("   "), "customer_id"),
		bad("customer id of tab and newline is rejected as blank", withCustomer("\t\n "), "customer_id"),
		ok("customer id of one character is accepted", withCustomer("c")),
		ok("customer id of 64 characters is accepted", withCustomer(strings.Repeat("a", 64))),
		bad("customer id of 65 characters is rejected", withCustomer(strings.Repeat("a", 65)), "customer_id"),
		ok("customer id of 64 two-byte characters is accepted (length is in characters)", withCustomer(strings.Repeat("é", 64))),
		bad("customer id of 65 two-byte characters is rejected", withCustomer(strings.Repeat("é", 65)), "customer_id"),
		ok("customer id of 64 four-byte characters is accepted", withCustomer(strings.Repeat("😀", 64))),
		ok("customer id with inner spaces is accepted", withCustomer("ACME Corp")),
		bad("customer id with invalid UTF-8 is rejected", withCustomer("cust-\xff"), "customer_id"),
		bad("customer id with a lone continuation byte is rejected", withCustomer("\x80"), "customer_id"),
		bad("customer id with a NUL is rejected", withCustomer("cust\x00-1"), "customer_id"),
		bad("customer id with a newline inside is rejected", withCustomer("cust\n1"), "customer_id"),
		bad("customer id with a tab inside is rejected", withCustomer("cust\t1"), "customer_id"),
		bad("customer id with ESC is rejected", withCustomer("cust\x1b1"), "customer_id"),
		bad("customer id with DEL is rejected", withCustomer("cust\x7f"), "customer_id"),
		bad("customer id with a C1 control is rejected", withCustomer("cust\u0085"), "customer_id"),

		ok("currency EUR is accepted", withCurrency("EUR")),
		ok("currency AZZ is accepted (letter range bounds)", withCurrency("AZZ")),
		bad("currency in lower case is rejected", withCurrency("eur"), "currency"),
		bad("currency in mixed case is rejected", withCurrency("Eur"), "currency"),
		bad("currency of two letters is rejected", withCurrency("EU"), "currency"),
		bad("currency of four letters is rejected", withCurrency("EURO"), "currency"),
		bad("currency with a digit is rejected", withCurrency("E1R"), "currency"),
		bad("currency empty is rejected", withCurrency(""), "currency"),
		bad("currency with the byte before A is rejected", withCurrency("@UR"), "currency"),
		bad("currency with the byte after Z is rejected", withCurrency("EU["), "currency"),
		bad("currency with a non-ASCII letter is rejected", withCurrency("ÉUR"), "currency"),
		bad("currency with surrounding space is rejected", withCurrency(" EUR"), "currency"),

		bad("nil UUID id is rejected", withID(uuid.Nil), "id"),
		ok("an id that is all zero but its last byte is accepted", withID(uuid.UUID{15: 1})),
		ok("an id that is all zero but its first byte is accepted", withID(uuid.UUID{0: 1})),

		bad("several bad fields are all listed in order",
			order.PlaceOrder{OrderID: uuid.Nil, CustomerID: "", Currency: "eur", At: at(10)},
			"id", "customer_id", "currency"),
		bad("bad id and currency are listed without the good customer id",
			order.PlaceOrder{OrderID: uuid.Nil, CustomerID: "cust-1", Currency: "EURO", At: at(10)},
			"id", "currency"),
		{
			name:       "a field that breaks two rules is listed once",
			given:      neverPlaced,
			when:       withCustomer(strings.Repeat("\x00", 65)),
			wantFields: []string{"customer_id"},
		},

		{name: "placing a pending order again conflicts", given: pendingWithLine, when: validPlace(), wantErr: order.ErrAlreadyPlaced},
		{name: "placing a pending order with no lines again conflicts", given: pendingNoLines, when: validPlace(), wantErr: order.ErrAlreadyPlaced},
		{name: "placing a confirmed order again conflicts", given: confirmedOrder, when: validPlace(), wantErr: order.ErrAlreadyPlaced},
		{name: "placing a cancelled order again conflicts", given: cancelledPending, when: validPlace(), wantErr: order.ErrAlreadyPlaced},
		{name: "placing an existing stream under another id conflicts", given: pendingNoLines, when: withID(otherOrderID), wantErr: order.ErrAlreadyPlaced},
		{
			name:       "an invalid place on an existing order is a validation error, not a conflict",
			given:      pendingWithLine,
			when:       order.PlaceOrder{OrderID: uuid.Nil, CustomerID: " ", Currency: "eu", At: at(10)},
			wantFields: []string{"id", "customer_id", "currency"},
		},
	})
}

func addLine(sku string, quantity int, unitPriceCents int64) order.AddLine {
	return order.AddLine{SKU: sku, Quantity: quantity, UnitPriceCents: unitPriceCents, At: at(20)}
}

func addedFrom(c order.AddLine) order.Event {
	return order.OrderLineAdded{SKU: c.SKU, Quantity: c.Quantity, UnitPriceCents: c.UnitPriceCents, AddedAt: c.At}
}

func TestDecideAddLine(t *testing.T) {
	ok := func(name string, c order.AddLine) spec {
		return spec{name: name, given: pendingWithLine, when: c, then: then(addedFrom(c))}
	}
	bad := func(name string, c order.AddLine, fields ...string) spec {
		return spec{name: name, given: pendingWithLine, when: c, wantFields: fields}
	}
	// nearMax holds a total 10 cents below the largest int64.
	nearMax := given(placed(), lineAdded("BIG", 1, math.MaxInt64-10))
	// roomForLargestLine has exactly room for the largest possible line, 1000 x 100_000_000.
	const largestLine = int64(order.MaxQuantity) * order.MaxUnitPriceCents
	roomForLargestLine := given(placed(), lineAdded("BIG", 1, math.MaxInt64-largestLine))
	// nearMaxUnits holds 5 units below the largest line count the decider allows.
	nearMaxUnits := given(placed(), lineAdded("MANY", math.MaxInt32-5, 0))
	// withLines is a pending order with n lines.
	withLines := func(n int) []order.Event {
		events := given(placed())
		for i := range n {
			events = append(events, lineAdded(fmt.Sprintf("SKU-%d", i), 1, 100))
		}
		return events
	}

	runSpecs(t, []spec{
		{
			name:  "adds a line with every field and AddedAt from the command",
			given: pendingNoLines,
			when:  order.AddLine{SKU: "SKU-9", Quantity: 3, UnitPriceCents: 1999, At: at(20)},
			then: then(order.OrderLineAdded{
				SKU: "SKU-9", Quantity: 3, UnitPriceCents: 1999, AddedAt: at(20),
			}),
		},
		ok("adds a second line for a SKU already on the order", addLine("SKU-1", 2, 150)),

		bad("sku empty is rejected", addLine("", 1, 100), "sku"),
		bad("sku of spaces is rejected", addLine("   ", 1, 100), "sku"),
		ok("sku of 64 characters is accepted", addLine(strings.Repeat("S", 64), 1, 100)),
		bad("sku of 65 characters is rejected", addLine(strings.Repeat("S", 65), 1, 100), "sku"),
		ok("sku of 64 two-byte characters is accepted", addLine(strings.Repeat("ß", 64), 1, 100)),
		bad("sku of 65 two-byte characters is rejected", addLine(strings.Repeat("ß", 65), 1, 100), "sku"),
		bad("sku with invalid UTF-8 is rejected", addLine("SKU\xc3", 1, 100), "sku"),
		bad("sku with a NUL is rejected", addLine("SKU\x00", 1, 100), "sku"),
		bad("sku with a newline is rejected", addLine("SKU\n2", 1, 100), "sku"),

		bad("quantity 0 is rejected", addLine("SKU-2", 0, 100), "quantity"),
		bad("quantity -1 is rejected", addLine("SKU-2", -1, 100), "quantity"),
		bad("quantity min int is rejected", addLine("SKU-2", math.MinInt, 100), "quantity"),
		ok("quantity 1 is accepted", addLine("SKU-2", 1, 100)),
		ok("quantity 1000 is accepted", addLine("SKU-2", 1000, 100)),
		bad("quantity 1001 is rejected", addLine("SKU-2", 1001, 100), "quantity"),
		bad("quantity max int is rejected", addLine("SKU-2", math.MaxInt, 100), "quantity"),

		bad("unit price -1 is rejected", addLine("SKU-2", 1, -1), "unit_price_cents"),
		bad("unit price min int64 is rejected", addLine("SKU-2", 1, math.MinInt64), "unit_price_cents"),
		ok("unit price 0 is accepted", addLine("SKU-2", 1, 0)),
		ok("unit price 100_000_000 is accepted", addLine("SKU-2", 1, 100_000_000)),
		bad("unit price 100_000_001 is rejected", addLine("SKU-2", 1, 100_000_001), "unit_price_cents"),
		bad("unit price max int64 is rejected", addLine("SKU-2", 1, math.MaxInt64), "unit_price_cents"),
		ok("largest quantity at largest price is accepted", addLine("SKU-2", 1000, 100_000_000)),

		bad("all three bad fields are listed in order", addLine("", 0, -1), "sku", "quantity", "unit_price_cents"),
		bad("bad sku and price are listed without the good quantity", addLine(" ", 5, 100_000_001), "sku", "unit_price_cents"),

		{name: "adding to an order never placed is not found", given: neverPlaced, when: addLine("SKU-2", 1, 100), wantErr: order.ErrNotFound},
		{name: "an invalid line on an order never placed is a validation error", given: neverPlaced, when: addLine("", 1, 100), wantFields: []string{"sku"}},
		{name: "adding to a confirmed order conflicts", given: confirmedOrder, when: addLine("SKU-2", 1, 100), wantErr: order.ErrNotPending},
		{name: "adding to a cancelled pending order conflicts", given: cancelledPending, when: addLine("SKU-2", 1, 100), wantErr: order.ErrNotPending},
		{name: "adding to an order cancelled after confirming conflicts", given: cancelledAfterConfd, when: addLine("SKU-2", 1, 100), wantErr: order.ErrNotPending},
		{name: "an invalid line on a confirmed order is a validation error", given: confirmedOrder, when: addLine("SKU-2", 1001, 100), wantFields: []string{"quantity"}},

		{name: "a line that takes the total exactly to max int64 is accepted", given: nearMax, when: addLine("SKU-2", 1, 10), then: then(addedFrom(addLine("SKU-2", 1, 10)))},
		{name: "a line one cent past max int64 is too large", given: nearMax, when: addLine("SKU-2", 1, 11), wantErr: order.ErrTotalTooLarge},
		{name: "quantity times price exactly reaching max int64 is accepted", given: nearMax, when: addLine("SKU-2", 2, 5), then: then(addedFrom(addLine("SKU-2", 2, 5)))},
		{name: "quantity times price past max int64 is too large", given: nearMax, when: addLine("SKU-2", 2, 6), wantErr: order.ErrTotalTooLarge},
		{name: "a free line on a near-max total is accepted", given: nearMax, when: addLine("SKU-2", 1000, 0), then: then(addedFrom(addLine("SKU-2", 1000, 0)))},
		{name: "the largest line fits exactly", given: roomForLargestLine, when: addLine("SKU-2", 1000, 100_000_000), then: then(addedFrom(addLine("SKU-2", 1000, 100_000_000)))},
		{name: "the largest line with one unit less room is too large", given: append(slices.Clone(roomForLargestLine), lineAdded("ONE", 1, 1)), when: addLine("SKU-2", 1000, 100_000_000), wantErr: order.ErrTotalTooLarge},
		{name: "a line count reaching max int32 is accepted", given: nearMaxUnits, when: addLine("SKU-2", 5, 1), then: then(addedFrom(addLine("SKU-2", 5, 1)))},
		{name: "a line count past max int32 is too large", given: nearMaxUnits, when: addLine("SKU-2", 6, 1), wantErr: order.ErrTotalTooLarge},
		{name: "an invalid line on a near-max total is a validation error", given: nearMax, when: addLine("SKU-2", 0, 11), wantFields: []string{"quantity"}},

		{name: "the last line an order may hold is accepted", given: withLines(order.MaxLines - 1), when: addLine("SKU-LAST", 1, 100), then: then(addedFrom(addLine("SKU-LAST", 1, 100)))},
		{name: "a line past the most an order may hold is too many", given: withLines(order.MaxLines), when: addLine("SKU-MORE", 1, 100), wantErr: order.ErrTooManyLines},
		{name: "a line past the limit on a stream already over it is too many", given: withLines(order.MaxLines + 1), when: addLine("SKU-MORE", 1, 100), wantErr: order.ErrTooManyLines},
		{name: "an invalid line on a full order is a validation error", given: withLines(order.MaxLines), when: addLine("", 1, 100), wantFields: []string{"sku"}},
		{name: "a line on a full confirmed order is not pending", given: append(withLines(order.MaxLines), confirmed()), when: addLine("SKU-MORE", 1, 100), wantErr: order.ErrNotPending},
		{name: "the limit is a thousand lines", given: withLines(1000), when: addLine("SKU-MORE", 1, 100), wantErr: order.ErrTooManyLines},
	})
}

func TestDecideConfirm(t *testing.T) {
	confirm := order.Confirm{At: at(30)}
	runSpecs(t, []spec{
		{name: "confirms a pending order with a line", given: pendingWithLine, when: confirm, then: then(order.OrderConfirmed{ConfirmedAt: at(30)})},
		{name: "confirms a pending order whose only line is free", given: given(placed(), lineAdded("FREE", 1, 0)), when: confirm, then: then(order.OrderConfirmed{ConfirmedAt: at(30)})},
		{name: "confirming a pending order without lines conflicts", given: pendingNoLines, when: confirm, wantErr: order.ErrNoLines},
		{name: "confirming a confirmed order is a no-op", given: confirmedOrder, when: confirm, then: nil},
		{name: "confirming a cancelled pending order conflicts", given: cancelledPending, when: confirm, wantErr: order.ErrCancelled},
		{name: "confirming a cancelled order without lines conflicts", given: cancelledNoLines, when: confirm, wantErr: order.ErrCancelled},
		{name: "confirming an order cancelled after confirming conflicts", given: cancelledAfterConfd, when: confirm, wantErr: order.ErrCancelled},
		{name: "confirming an order never placed is not found", given: neverPlaced, when: confirm, wantErr: order.ErrNotFound},
	})
}

func cancelBecause(reason string) order.Cancel { return order.Cancel{Reason: reason, At: at(40)} }

func cancelledFrom(c order.Cancel) order.Event {
	return order.OrderCancelled{Reason: c.Reason, CancelledAt: c.At}
}

func TestDecideCancel(t *testing.T) {
	ok := func(name string, reason string) spec {
		c := cancelBecause(reason)
		return spec{name: name, given: pendingWithLine, when: c, then: then(cancelledFrom(c))}
	}
	bad := func(name string, reason string) spec {
		return spec{name: name, given: pendingWithLine, when: cancelBecause(reason), wantFields: []string{"reason"}}
	}
	runSpecs(t, []spec{
		{
			name:  "cancels a pending order with reason and time",
			given: pendingWithLine,
			when:  order.Cancel{Reason: "customer called", At: at(40)},
			then:  then(order.OrderCancelled{Reason: "customer called", CancelledAt: at(40)}),
		},
		{name: "cancels a pending order without lines", given: pendingNoLines, when: cancelBecause("oops"), then: then(cancelledFrom(cancelBecause("oops")))},
		{name: "cancels a confirmed order", given: confirmedOrder, when: cancelBecause("out of stock"), then: then(cancelledFrom(cancelBecause("out of stock")))},
		{name: "cancelling a cancelled order is a no-op", given: cancelledPending, when: cancelBecause("again"), then: nil},
		{name: "cancelling an order cancelled after confirming is a no-op", given: cancelledAfterConfd, when: cancelBecause(""), then: nil},
		{name: "cancelling an order never placed is not found", given: neverPlaced, when: cancelBecause("x"), wantErr: order.ErrNotFound},

		ok("an empty reason is accepted", ""),
		ok("a reason of spaces is accepted", "   "),
		ok("a reason of 500 characters is accepted", strings.Repeat("r", 500)),
		bad("a reason of 501 characters is rejected", strings.Repeat("r", 501)),
		ok("a reason of 500 two-byte characters is accepted", strings.Repeat("ø", 500)),
		bad("a reason of 501 two-byte characters is rejected", strings.Repeat("ø", 501)),
		ok("a newline in the reason is accepted", "line one\nline two"),
		ok("a tab in the reason is accepted", "col1\tcol2"),
		ok("a carriage return in the reason is accepted", "line one\r\nline two"),
		bad("a NUL in the reason is rejected", "bad\x00reason"),
		bad("a vertical tab in the reason is rejected", "bad\vreason"),
		bad("ESC in the reason is rejected", "bad\x1breason"),
		bad("DEL in the reason is rejected", "bad\x7freason"),
		bad("a C1 control in the reason is rejected", "bad\u0085reason"),
		bad("invalid UTF-8 in the reason is rejected", "bad\xffreason"),

		{name: "an invalid reason on an order never placed is a validation error", given: neverPlaced, when: cancelBecause("\x00"), wantFields: []string{"reason"}},
		{name: "an invalid reason on a cancelled order is a validation error, not a no-op", given: cancelledPending, when: cancelBecause(strings.Repeat("r", 501)), wantFields: []string{"reason"}},
		{name: "an invalid reason on a confirmed order is a validation error", given: confirmedOrder, when: cancelBecause("\x00"), wantFields: []string{"reason"}},
	})
}

func TestDecideNilCommandIsAnError(t *testing.T) {
	// A foreign Command type cannot be written outside the package (isCommand is
	// unexported), but a nil Command can be passed.
	for _, history := range [][]order.Event{neverPlaced, pendingWithLine, cancelledPending} {
		got, err := order.Decide(order.Fold(order.Initial(), history...), nil)
		if err == nil {
			t.Fatalf("Decide(nil) returned no error")
		}
		if len(got) != 0 {
			t.Errorf("Decide(nil) returned events %#v", got)
		}
		var ve *order.ValidationError
		var ce *order.ConflictError
		if errors.As(err, &ve) || errors.As(err, &ce) || errors.Is(err, order.ErrNotFound) {
			t.Errorf("Decide(nil) error %v (%T) looks like a domain outcome", err, err)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := order.Decide(order.Initial(), order.PlaceOrder{OrderID: uuid.Nil, CustomerID: "c", Currency: "eur", At: at(0)})
	if err == nil {
		t.Fatal("want a validation error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid command: id: ") || !strings.Contains(msg, "; currency: ") {
		t.Errorf("Error() = %q, want \"invalid command: id: ...; currency: ...\"", msg)
	}
}

func TestConflictErrorsAreDistinct(t *testing.T) {
	for a, codeA := range conflictCodes {
		var ce *order.ConflictError
		if !errors.As(a, &ce) || ce.Code != codeA {
			t.Errorf("%v: Code = %q, want %q", a, ce.Code, codeA)
		}
		if errors.Is(a, order.ErrNotFound) {
			t.Errorf("%v is also ErrNotFound", a)
		}
		for b := range conflictCodes {
			if a != b && errors.Is(a, b) { //nolint:errorlint // a and b are sentinels: != compares identities
				t.Errorf("errors.Is(%q, %q) = true", codeA, conflictCodes[b])
			}
		}
	}
}
