package shipment_test

import (
	"testing"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/kit/kittest"
	"github.com/example/orders/domain/shipment"
)

func TestCreateShipmentCarriesTheShipToAddressAsPersonalData(t *testing.T) {
	to := shipment.ShipTo{Name: "Ada Lovelace", Line1: "12 St James's Square", PostalCode: "SW1Y 4JH", City: "London", Country: "GB"}
	kittest.Run(t, shipment.Decider, []Case{
		{Name: "the address is the customer's personal data", Given: none,
			When: createWith(func(c *shipment.CreateShipment) { c.ShipTo = &to }),
			Then: evs{shipment.ShipmentCreated{ShipmentID: shipmentID, OrderID: orderID, CustomerID: customerID, Items: items,
				ShipTo: kit.Clear(customerID, to), CreatedAt: at(10)}}},
	})
	s := shipment.Decider.Fold(shipment.Decider.Initial, shipment.ShipmentCreated{ShipmentID: shipmentID, OrderID: orderID, CustomerID: customerID, Items: items,
		ShipTo: kit.Clear(customerID, to), CreatedAt: at(0)})
	if got, ok := s.ShipTo.Value(); !ok || got != to {
		t.Fatalf("state ship-to: %+v", s.ShipTo)
	}
}
