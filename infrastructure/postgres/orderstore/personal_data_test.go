package orderstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// A command's answer opens its personal data on the attempt's own connection: with a
// pool of one connection, asking for a second while holding the first never returns
// (as every connection of a full pool would, under load).
func TestACommandsAnswerOpensOnItsOwnConnection(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.MaxConns(1))
	app := testsupport.NewApp(t, pool)
	ctx, cancel := context.WithTimeout(appkit.AsSystem(context.Background()), 5*time.Second)
	defer cancel()
	contact := order.Contact{Name: "Kim", Email: "kim@example.com", Address: order.Address{Line1: "1 Way", PostalCode: "1000", City: "Brussels", Country: "BE"}}
	id := uuid.New()
	if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "kim", Currency: "EUR", Contact: &contact}); err != nil {
		t.Fatal(err)
	}
	res, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "s", Quantity: 1, UnitPriceCents: 1})
	if err != nil {
		t.Fatalf("add a line to an order with a contact, on a pool of one connection: %v", err)
	}
	if got, ok := res.View.State.Contact.Value(); !ok || got != contact {
		t.Fatalf("the answer's contact: %+v", res.View.State.Contact)
	}
}
