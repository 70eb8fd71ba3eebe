package orderstore_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// GET /orders/{id} and the list answer from the read model, a command from the fold: a
// column the projection writes but queries.go does not read back (a new field's, say)
// leaves that field at its zero value in what they answer, and no other check sees it
// (verify compares the rows, not what the queries make of them). Here an order whose
// folded state has every field of order.State set, found by reflection (so a field
// added to the state must be given a value here), is read through Queries as the
// service wires them, and must equal the fold of its events.
func TestQueriesAnswerEveryFieldOfTheFoldedState(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	keys := testsupport.NewKeys(t)
	codec := eventcodec.NewOrderRegistry()
	store := orderstore.NewStore(pool, codec).UsePersonalData(keys)
	queries := orderstore.NewQueries(pool, codec).OpenPersonalData(keys)
	orders := application.NewOrders(store, queries, appkit.RunnerConfig{Now: fixedClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))})
	ctx := appkit.AsSystem(context.Background())

	id := uuid.Must(application.NewID())
	contact := order.Contact{Name: "Åsa ✓", Email: "asa@example.se",
		Address: order.Address{Line1: "Gatan 1", Line2: "2 tr", PostalCode: "111 22", City: "Stockholm", Country: "SE"}}
	if _, err := orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "every-field", Currency: "SEK", Contact: &contact}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []application.AddOrderLine{
		{OrderID: id, SKU: "book", Quantity: 2, UnitPriceCents: 1250},
		{OrderID: id, SKU: "αβ-pen", Quantity: 300, UnitPriceCents: 99},
	} {
		if _, err := orders.AddOrderLine(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}); err != nil {
		t.Fatal(err)
	}

	recorded, err := store.History(ctx, id, eventstore.StreamRange{})
	if err != nil {
		t.Fatal(err)
	}
	events := make([]order.Event, len(recorded))
	for i, r := range recorded {
		events[i] = r.Event
	}
	want := application.OrderView{State: order.Fold(order.Initial(), events...), Version: recorded[len(recorded)-1].Version}
	if unset := unsetFields(reflect.ValueOf(want.State), "order.State"); len(unset) > 0 {
		t.Fatalf("the order built here leaves %s at the zero value: give each a value (through the application, as a client would), so that what the queries read back is checked for it",
			strings.Join(unset, ", "))
	}

	got, err := queries.ByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := stateDiff(got, want); d != "" {
		t.Errorf("GET (Queries.ByID) does not answer what the fold of the order's events holds:\n%s"+
			"a column the projection writes that queries.go does not read back (selectOverview and scanOverview)?", d)
	}
	page, err := queries.ListOrders(ctx, application.ListOrders{CustomerID: "every-field", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Fatalf("the list holds %d orders, want 1", len(page.Items))
	}
	if d := stateDiff(page.Items[0], want); d != "" {
		t.Errorf("the list (Queries.ListOrders) does not answer what the fold of the order's events holds:\n%s"+
			"a column the projection writes that queries.go does not read back (selectOverview and scanOverview)?", d)
	}
}

// unsetFields are the fields of v (at is its name), and of the structs, lines and
// personal data inside it, left at their zero values.
func unsetFields(v reflect.Value, at string) []string {
	if p, ok := v.Interface().(kit.Personal[order.Contact]); ok {
		c, open := p.Value()
		if !open {
			return []string{at + " (no clear value)"}
		}
		return unsetFields(reflect.ValueOf(c), at)
	}
	switch v.Kind() {
	case reflect.Struct:
		if _, ok := v.Interface().(time.Time); ok {
			break
		}
		var unset []string
		for i := range v.NumField() {
			unset = append(unset, unsetFields(v.Field(i), at+"."+v.Type().Field(i).Name)...)
		}
		return unset
	case reflect.Slice:
		var unset []string
		for i := range v.Len() {
			unset = append(unset, unsetFields(v.Index(i), fmt.Sprintf("%s[%d]", at, i))...)
		}
		if v.Len() > 0 {
			return unset
		}
	}
	if v.IsZero() {
		return []string{at}
	}
	return nil
}

// stateDiff lists, one a line, the fields of order.State (and the version) in which
// got differs from want; "" when they are equal.
func stateDiff(got, want application.OrderView) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	var b strings.Builder
	if got.Version != want.Version {
		fmt.Fprintf(&b, "  version: got %d, want %d\n", got.Version, want.Version)
	}
	g, w := reflect.ValueOf(got.State), reflect.ValueOf(want.State)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			fmt.Fprintf(&b, "  %s: got %s, want %s\n", g.Type().Field(i).Name, show(g.Field(i).Interface()), show(w.Field(i).Interface()))
		}
	}
	return b.String()
}

// show is v for a message; personal data as its clear value.
func show(v any) string {
	if p, ok := v.(kit.Personal[order.Contact]); ok {
		c, open := p.Value()
		return fmt.Sprintf("personal data of %q, clear: %t, %+v", p.Subject(), open, c)
	}
	if reflect.ValueOf(v).Kind() == reflect.String {
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%+v", v)
}
