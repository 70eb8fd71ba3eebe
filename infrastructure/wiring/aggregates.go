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

// Registered is what the service knows of its aggregates beyond their use cases: the
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
// with it its codec's event types) and domain errors, and, when pool is set, its use
// cases, built over its store and queries and set in its field of *into. Every list that
// names aggregates derives from here, and an aggregate left out here leaves its field
// unset, which application.NewApp refuses when the service starts. Every store seals and
// opens personal data with keys.
func Aggregates(pool *pgxpool.Pool, appends aggregatestore.AppendObserver, keys *personaldata.Keys, cfg appkit.RunnerConfig, into *application.Aggregates) Registered {
	r := Registered{pool: pool, EventTypes: []string{personaldata.ErasedEventType}}
	orders := eventcodec.NewOrderRegistry()
	var orderQueries application.OrderQueries
	r.add(orderstore.ReadModel(orders), order.Errors, func() {
		orderQueries = orderstore.NewQueries(pool, orders).OpenPersonalData(keys)
		into.Orders = application.NewOrders(orderstore.NewStore(pool, orders).ObserveAppends(appends).UsePersonalData(keys), orderQueries, cfg)
	})
	shipments := eventcodec.NewShipmentRegistry()                       // example: shipment
	r.add(shipmentstore.ReadModel(shipments), shipment.Errors, func() { // example: shipment
		into.Shipments = application.NewShipments(shipmentstore.NewStore(pool, shipments).ObserveAppends(appends).UsePersonalData(keys), // example: shipment
			shipmentstore.NewQueries(pool, shipments).OpenPersonalData(keys), orderQueries, cfg) // example: shipment
	}) // example: shipment
	slices.Sort(r.EventTypes)
	r.EventTypes = slices.Compact(r.EventTypes)
	return r
}

// add registers one aggregate's read model, the event types of its codec (which the read
// model reads, so they cannot be left out) and its domain errors, and builds its use
// cases when there is a database to build them on.
func (r *Registered) add(m verify.ReadModel, errs []error, build func()) {
	r.ReadModels = append(r.ReadModels, m)
	r.EventTypes = append(r.EventTypes, m.EventTypes()...)
	r.Errors = append(r.Errors, errs...)
	if r.pool != nil {
		build()
	}
}

// LogOnlyStreamTypes are the stream types with no aggregate and no read model by design:
// the customers' erasure records (PersonalDataErased). verify checks their heads only.
func LogOnlyStreamTypes() []string { return []string{customer.StreamType} }

// ReadModels are the inline read models of every registered aggregate.
func ReadModels() []verify.ReadModel {
	return Aggregates(nil, nil, nil, appkit.RunnerConfig{}, nil).ReadModels
}

// App is the application over pool as the service builds it, with cfg, the personal
// data keys and the customer_summary read model's reader given; appends, when not nil,
// is told of every append (the service's metrics).
func App(pool *pgxpool.Pool, appends aggregatestore.AppendObserver, summaries application.CustomerSummaries, keys *personaldata.Keys, cfg appkit.RunnerConfig) (application.App, Registered, error) {
	var aggregates application.Aggregates
	known := Aggregates(pool, appends, keys, cfg, &aggregates)
	ports := application.Ports{CustomerSummaries: summaries, Consumers: subscription.NewStatusReader(pool),
		PersonalData: personaldata.Eraser{Pool: pool, AfterCommit: cfg.AfterCommit}}
	app, err := application.NewApp(aggregates, ports, cfg)
	return app, known, err
}
