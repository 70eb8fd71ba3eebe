package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// Shipments register their read model like orders do: a corrupted, a missing and an
// orphan shipment_overview row are differences, and rebuilding that read model by name
// repairs them.
func TestVerifyAndRebuildShipmentOverview(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := appkit.AsSystem(context.Background())
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	app := testsupport.NewApp(t, pool)
	ship := app.Shipments
	var ids []uuid.UUID
	for i := 0; i < 3; i++ {
		id := uuid.Must(application.NewID())
		if _, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: id, CustomerID: "cli", Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: id, SKU: "apple", Quantity: 3, UnitPriceCents: 250}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Orders.ConfirmOrder(ctx, application.ConfirmOrder{OrderID: id}); err != nil {
			t.Fatal(err)
		}
		res, err := ship.CreateShipment(ctx, application.CreateShipment{OrderID: id})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.View.State.ID)
	}
	if _, err := ship.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: ids[0], Carrier: "DHL", TrackingNo: "T-1"}); err != nil {
		t.Fatal(err)
	}
	if out, _, code := orders(t, nil, "verify", "--database-url", url); code != 0 {
		t.Fatalf("verify of a clean database: exit %d\n%s", code, out)
	}

	orphan := uuid.New()
	for _, sql := range []string{
		`UPDATE shipment_overview SET status = 'delivered', carrier = 'UPS', customer_id = 'mallory' WHERE id = '` + ids[0].String() + `'`,
		`DELETE FROM shipment_overview WHERE id = '` + ids[1].String() + `'`,
		`INSERT INTO shipment_overview (id, order_id, customer_id, status, items, version, created_at, updated_at)
		 VALUES ('` + orphan.String() + `', gen_random_uuid(), 'cli', 'pending', '[]', 1, now(), now())`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := orders(t, nil, "verify", "--database-url", url)
	for _, want := range []string{
		fmt.Sprintf("%s: status: expected dispatched, found delivered", ids[0]),
		fmt.Sprintf("%s: carrier: expected \"DHL\", found \"UPS\"", ids[0]),
		fmt.Sprintf("%s: customer_id: expected \"cli\", found \"mallory\"", ids[0]),
		fmt.Sprintf("%s: shipment_overview: expected a row at version 1, found no row", ids[1]),
		fmt.Sprintf("%s: shipment_overview: expected no row (the shipment has no events), found a row at version 1", orphan),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify does not report %q", want)
		}
	}
	if code != 1 || !strings.Contains(errOut, "differences") {
		t.Fatalf("verify of damaged shipments: exit %d, stderr %q\n%s", code, errOut, out)
	}

	out, errOut, code = orders(t, nil, "rebuild", "shipment_overview", "--database-url", url)
	if code != 0 || errOut != "" || strings.Count(out, "\n") != 1 {
		t.Fatalf("rebuild shipment_overview: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, _, code := orders(t, nil, "verify", "--database-url", url); code != 0 {
		t.Fatalf("verify after rebuild: exit %d\n%s", code, out)
	}
}
