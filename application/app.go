package application

import (
	"errors"
	"fmt"

	"github.com/example/orders/application/appkit"
)

// Ports are what the use cases read and write through: one store and one queries port
// per aggregate, and the asynchronous read models they answer from.
type Ports struct {
	Orders            OrderStore
	OrderQueries      OrderQueries
	Shipments         ShipmentStore   // example: shipment
	ShipmentQueries   ShipmentQueries // example: shipment
	CustomerSummaries CustomerSummaries
}

// App is every use case of the service, one type per aggregate, for the composition
// root to build once (NewApp) and hand to the transport.
type App struct {
	Orders          *Orders
	Shipments       *Shipments // example: shipment
	CustomerSummary *GetCustomerSummaryHandler
}

// NewApp wires every use case to its ports. A port left out is an error here, when the
// service starts, rather than a nil dereference on a request.
func NewApp(p Ports, cfg appkit.RunnerConfig) (App, error) {
	var missing []error
	for name, port := range map[string]any{
		"Orders": p.Orders, "OrderQueries": p.OrderQueries, "CustomerSummaries": p.CustomerSummaries,
		"Shipments": p.Shipments, "ShipmentQueries": p.ShipmentQueries, // example: shipment
	} {
		if port == nil {
			missing = append(missing, fmt.Errorf("application.NewApp: Ports.%s is not set", name))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return App{}, err
	}
	orders := NewOrders(p.Orders, p.OrderQueries, cfg)
	return App{
		Orders:          orders,
		Shipments:       NewShipments(p.Shipments, p.ShipmentQueries, p.OrderQueries, cfg), // example: shipment
		CustomerSummary: NewGetCustomerSummaryHandler(p.CustomerSummaries),
	}, nil
}
