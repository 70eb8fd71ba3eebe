// Package wiring is where an aggregate registers: its ports, read model, event types and
// domain errors. The composition root (cmd/orders) and the tests that want the
// application as the service builds it (testsupport.NewApp) both take it from here.
package wiring

import (
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/customer"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment" // example: shipment
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/shipmentstore" // example: shipment
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/infrastructure/postgres/verify"
)

// Registered is what the service knows of its aggregates beyond their ports: the
// inline read model each keeps (what `verify` checks and `rebuild` rebuilds), the
// event types it records (what GET /events accepts in ?types=) and the errors its
// decider returns (each must be a catalogued problem; checked at start).
type Registered struct {
	ReadModels []verify.ReadModel
	EventTypes []string
	Errors     []error
	pool       *pgxpool.Pool
}

// Aggregates is the one place an aggregate registers, in one call: its read model (and
// with it its codec's event types) and domain errors, and (when pool is set) the function that puts its
// store and queries into ports. Every list that names aggregates derives from here,
// and an aggregate left out here leaves its ports unset, which application.NewApp
// refuses when the service starts. Every store seals and opens personal data with keys.
func Aggregates(pool *pgxpool.Pool, appends aggregatestore.AppendObserver, keys *personaldata.Keys, ports *application.Ports) Registered {
	r := Registered{pool: pool, EventTypes: []string{personaldata.ErasedEventType}}
	orders := eventcodec.NewOrderRegistry()
	r.add(orderstore.ReadModel(orders), order.Errors, func() {
		ports.Orders = orderstore.NewStore(pool, orders).ObserveAppends(appends).UsePersonalData(keys)
		ports.OrderQueries = orderstore.NewQueries(pool, orders).OpenPersonalData(keys)
	})
	shipments := eventcodec.NewShipmentRegistry()                       // example: shipment
	r.add(shipmentstore.ReadModel(shipments), shipment.Errors, func() { // example: shipment
		ports.Shipments = shipmentstore.NewStore(pool, shipments).ObserveAppends(appends).UsePersonalData(keys) // example: shipment
		ports.ShipmentQueries = shipmentstore.NewQueries(pool, shipments).OpenPersonalData(keys)                // example: shipment
	}) // example: shipment
	slices.Sort(r.EventTypes)
	r.EventTypes = slices.Compact(r.EventTypes)
	return r
}

// add registers one aggregate's read model, the event types of its codec (which the read
// model reads, so they cannot be left out) and its domain errors, and sets its ports
// when there is a database to build them on.
func (r *Registered) add(m verify.ReadModel, errs []error, setPorts func()) {
	r.ReadModels = append(r.ReadModels, m)
	r.EventTypes = append(r.EventTypes, m.EventTypes()...)
	r.Errors = append(r.Errors, errs...)
	if r.pool != nil {
		setPorts()
	}
}

// LogOnlyStreamTypes are the stream types with no aggregate and no read model by design:
// the customers' erasure records (PersonalDataErased). verify checks their heads only.
func LogOnlyStreamTypes() []string { return []string{customer.StreamType} }

// ReadModels are the inline read models of every registered aggregate.
func ReadModels() []verify.ReadModel { return Aggregates(nil, nil, nil, nil).ReadModels }

// App is the application over pool as the service builds it, with cfg, the personal
// data keys and the customer_summary read model's reader given.
func App(pool *pgxpool.Pool, summaries application.CustomerSummaries, keys *personaldata.Keys, cfg appkit.RunnerConfig) (application.App, Registered, error) {
	ports := application.Ports{CustomerSummaries: summaries, Consumers: subscription.NewStatusReader(pool),
		PersonalData: personaldata.Eraser{Pool: pool, AfterCommit: cfg.AfterCommit}}
	known := Aggregates(pool, nil, keys, &ports)
	app, err := application.NewApp(ports, cfg)
	return app, known, err
}
