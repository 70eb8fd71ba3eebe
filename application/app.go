package application

import (
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
	Consumers         ConsumerStatuses
	PersonalData      PersonalDataEraser
}

// App is every use case of the service, one type per aggregate, for the composition
// root to build once (NewApp) and hand to the transport.
type App struct {
	Orders          *Orders
	Shipments       *Shipments // example: shipment
	CustomerSummary *GetCustomerSummaryHandler
	Consumers       *ListConsumersHandler
	PersonalData    *PersonalData
}

// NewApp wires every use case to its ports. A port left out, or a use case not built
// here, is an error when the service starts (appkit.Complete checks every field of
// Ports and of App), never a nil dereference on a request.
func NewApp(p Ports, cfg appkit.RunnerConfig) (App, error) {
	if err := appkit.Complete(p); err != nil {
		return App{}, fmt.Errorf("application.NewApp: %w", err)
	}
	app := App{
		Orders:          NewOrders(p.Orders, p.OrderQueries, cfg),
		Shipments:       NewShipments(p.Shipments, p.ShipmentQueries, p.OrderQueries, cfg), // example: shipment
		CustomerSummary: NewGetCustomerSummaryHandler(p.CustomerSummaries),
		Consumers:       NewListConsumersHandler(p.Consumers),
		PersonalData:    NewPersonalData(p.PersonalData, cfg),
	}
	if err := appkit.Complete(app); err != nil {
		return App{}, fmt.Errorf("application.NewApp: %w", err)
	}
	return app, nil
}
