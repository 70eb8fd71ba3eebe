package application

import (
	"errors"
	"fmt"

	"github.com/example/orders/application/appkit"
)

// Aggregates are the use cases of every aggregate, one field each. The composition root
// builds them over its stores where the aggregate registers (wiring.Aggregates): the
// ports an aggregate's use cases take (OrderStore, OrderQueries) are declared beside
// them and chosen there.
type Aggregates struct {
	Orders    *Orders
	Shipments *Shipments // example: shipment
}

// Ports are what the use cases beyond the aggregates read and write through: the
// asynchronous read models they answer from and the erasure of personal data.
type Ports struct {
	CustomerSummaries CustomerSummaries
	Consumers         ConsumerStatuses
	PersonalData      PersonalDataEraser
}

// App is every use case of the service, for the composition root to build once
// (NewApp) and hand to the transport.
type App struct {
	Aggregates
	CustomerSummary *GetCustomerSummaryHandler
	Consumers       *ListConsumersHandler
	PersonalData    *PersonalData
}

// NewApp is the application of the aggregates given and the use cases wired here to
// their ports. An aggregate or a port left out, or a use case not built here, is an
// error when the service starts (appkit.Complete checks every field of Aggregates, Ports
// and App), never a nil dereference on a request.
func NewApp(a Aggregates, p Ports, cfg appkit.RunnerConfig) (App, error) {
	if err := errors.Join(appkit.Complete(a), appkit.Complete(p)); err != nil {
		return App{}, fmt.Errorf("application.NewApp: %w", err)
	}
	app := App{
		Aggregates:      a,
		CustomerSummary: NewGetCustomerSummaryHandler(p.CustomerSummaries),
		Consumers:       NewListConsumersHandler(p.Consumers),
		PersonalData:    NewPersonalData(p.PersonalData, cfg),
	}
	if err := appkit.Complete(app); err != nil {
		return App{}, fmt.Errorf("application.NewApp: %w", err)
	}
	return app, nil
}
