package main

import (
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/shipmentstore"
	"github.com/example/orders/infrastructure/postgres/verify"
)

// registered is what the service knows of its aggregates beyond their ports: the
// inline read model each keeps (what `verify` checks and `rebuild` rebuilds), the
// event types it records (what GET /events accepts in ?types=) and the errors its
// decider returns (each must be a catalogued problem; checked at start).
type registered struct {
	readModels []verify.ReadModel
	eventTypes []string
	errors     []error
}

// aggregates is the one place an aggregate registers: its store and queries go into
// ports (when pool is set), its read model and event types into what it returns. Every
// list that names aggregates derives from here; a port left out fails
// application.NewApp when the service starts.
func aggregates(pool *pgxpool.Pool, appends aggregatestore.AppendObserver, ports *application.Ports) registered {
	orders, shipments := eventcodec.NewOrderRegistry(), eventcodec.NewShipmentRegistry()
	if pool != nil {
		ports.Orders, ports.OrderQueries = orderstore.NewStore(pool, orders).ObserveAppends(appends), orderstore.NewQueries(pool, orders)
		ports.Shipments, ports.ShipmentQueries = shipmentstore.NewStore(pool, shipments).ObserveAppends(appends), shipmentstore.NewQueries(pool, shipments)
	}
	r := registered{readModels: []verify.ReadModel{orderstore.ReadModel(orders), shipmentstore.ReadModel(shipments)},
		errors: slices.Concat(order.Errors, shipment.Errors)}
	r.eventTypes = append(orders.Names(), shipments.Names()...)
	slices.Sort(r.eventTypes)
	r.eventTypes = slices.Compact(r.eventTypes)
	return r
}

// readModels are the inline read models of every registered aggregate.
func readModels() []verify.ReadModel { return aggregates(nil, nil, nil).readModels }
