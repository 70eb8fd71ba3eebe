package eventcodec

import "github.com/example/orders/domain/shipment"

// NewShipmentRegistry knows every shipment event, its stored name and its schema
// version. Stored names are fixed strings, not Go type names.
func NewShipmentRegistry() *Registry[shipment.Event] {
	r := New[shipment.Event]()
	Register[shipment.ShipmentCreated](r, "ShipmentCreated", 1)
	Register[shipment.ShipmentDispatched](r, "ShipmentDispatched", 1)
	Register[shipment.ShipmentDelivered](r, "ShipmentDelivered", 1)
	Register[shipment.ShipmentCancelled](r, "ShipmentCancelled", 1)
	return MustCheck(r)
}
