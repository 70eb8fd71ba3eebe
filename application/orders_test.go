package application

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
)

// listedOrders is an OrderQueries that answers every list with an empty page and
// writes down what it was asked; ListOrders's checks are tested here, the reads
// themselves in orderstore's tests (on PostgreSQL).
type listedOrders struct{ asked []ListOrders }

func (l *listedOrders) ByID(context.Context, uuid.UUID) (OrderView, error) {
	return OrderView{}, order.ErrNotFound
}

func (l *listedOrders) Events(context.Context, uuid.UUID, appkit.EventRange) ([]appkit.RecordedEvent[order.Event], error) {
	return nil, nil
}

func (l *listedOrders) ListOrders(_ context.Context, q ListOrders) (OrderPage, error) {
	l.asked = append(l.asked, q)
	return OrderPage{Items: []OrderView{}}, nil
}

// ListOrders refuses a customer_id filter that no order can have (not UTF-8, longer
// than order.MaxCustomerIDLength characters, or with a control character) and a status
// that is none of the order's, each as a field of one validation error, before reading.
func TestListOrdersChecksItsFilters(t *testing.T) {
	staff := appkit.AsSystem(context.Background())
	longest := strings.Repeat("é", order.MaxCustomerIDLength) // characters, not bytes
	for _, c := range []struct {
		name    string
		q       ListOrders
		invalid []string // nil: listed
	}{
		{"no filter", ListOrders{}, nil},
		{"a customer", ListOrders{CustomerID: "alice"}, nil},
		{"the longest customer id", ListOrders{CustomerID: longest}, nil},
		{"pending", ListOrders{Status: order.StatusPending}, nil},
		{"confirmed", ListOrders{Status: order.StatusConfirmed}, nil},
		{"cancelled", ListOrders{Status: order.StatusCancelled}, nil},
		{"a customer id one character too long", ListOrders{CustomerID: longest + "x"}, []string{"customer_id"}},
		{"a customer id not UTF-8", ListOrders{CustomerID: "al\xffce"}, []string{"customer_id"}},
		{"a customer id with a control character", ListOrders{CustomerID: "ali\nce"}, []string{"customer_id"}},
		{"a status of no order", ListOrders{Status: "shipped"}, []string{"status"}},
		{"both", ListOrders{CustomerID: "\x00", Status: "shipped"}, []string{"customer_id", "status"}},
	} {
		queries := &listedOrders{}
		orders := NewOrders(nil, queries, appkit.RunnerConfig{})
		_, err := orders.ListOrders(staff, c.q)
		if c.invalid == nil {
			if err != nil || len(queries.asked) != 1 || queries.asked[0].CustomerID != c.q.CustomerID || queries.asked[0].Status != c.q.Status {
				t.Errorf("%s: %v, asked %+v, want the query listed as it is", c.name, err, queries.asked)
			}
			continue
		}
		var validation *kit.ValidationError
		var fields []string
		if errors.As(err, &validation) {
			for _, f := range validation.Fields {
				fields = append(fields, f.Field)
			}
		}
		if !slices.Equal(fields, c.invalid) || len(queries.asked) != 0 {
			t.Errorf("%s: %v (asked %+v), want a validation error of %v and no read", c.name, err, queries.asked, c.invalid)
		}
	}
}

// An order is acted on by its customer and staff; anyone else is told it does not
// exist. An order not placed yet (version 0) has no owner to check: the decider
// answers it.
func TestAnotherCustomersOrderIsNotFound(t *testing.T) {
	alice := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: "alice"})
	bob := appkit.WithPrincipal(context.Background(), appkit.Principal{Subject: "bob"})
	staff := appkit.AsSystem(context.Background())
	placed := OrderView{State: order.State{CustomerID: "alice", Status: order.StatusPending}, Version: 1}
	for _, c := range []struct {
		name string
		ctx  context.Context
		v    OrderView
		want error
	}{
		{"its customer", alice, placed, nil},
		{"staff", staff, placed, nil},
		{"another customer", bob, placed, order.ErrNotFound},
		{"nobody", context.Background(), placed, order.ErrNotFound},
		{"an order not placed yet", bob, OrderView{}, nil},
	} {
		if err := authorizeOrder(c.ctx, c.v); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
