package shipment

import "slices"

// Evolve returns the state after one event.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case ShipmentCreated:
		s.ID, s.OrderID, s.CustomerID, s.Status = e.ShipmentID, e.OrderID, e.CustomerID, StatusPending
		s.Items = slices.Clone(e.Items) // the state never shares the event's array
		s.ShipTo = e.ShipTo
		s.CreatedAt, s.UpdatedAt = e.CreatedAt, e.CreatedAt
	case ShipmentDispatched:
		s.Status, s.Carrier, s.TrackingNo, s.UpdatedAt = StatusDispatched, e.Carrier, e.TrackingNo, e.DispatchedAt
	case ShipmentDelivered:
		s.Status, s.UpdatedAt = StatusDelivered, e.DeliveredAt
	case ShipmentCancelled:
		s.Status, s.UpdatedAt = StatusCancelled, e.CancelledAt
	}
	return s
}
