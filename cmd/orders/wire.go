package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/application"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/httpapi"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/fulfilment"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/shipmentstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/infrastructure/postgres/verify"
	"github.com/example/orders/infrastructure/servicename"
)

// readModels are the inline read models `verify` checks and `rebuild` rebuilds, one
// line each: an aggregate's store package says how (orderstore.ReadModel).
func readModels() []verify.ReadModel {
	return []verify.ReadModel{
		orderstore.ReadModel(eventcodec.NewOrderRegistry()),
		shipmentstore.ReadModel(eventcodec.NewShipmentRegistry()),
	}
}

// eventsChannel is the NOTIFY channel commands wake the consumers on.
const eventsChannel = servicename.Name + "_events"

// service is everything serve runs, built by hand in one place.
type service struct {
	handler   *echo.Echo
	pool      *pgxpool.Pool
	notifier  *subscription.Notifier
	consumers *subscription.Runtime // nil when this instance runs none
}

// build is the composition root: it connects to the database and wires the
// infrastructure into the application and the application into HTTP. The returned
// cleanup closes what build opened.
func build(ctx context.Context, cfg Config, log *slog.Logger) (*service, func(), error) {
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, int32(cfg.MaxConns))
	if err != nil {
		return nil, nil, err
	}
	codec := eventcodec.NewOrderRegistry()
	notifier := subscription.NewNotifier(pool, eventsChannel)
	mode := subscription.AfterCommit
	if cfg.NotifyMode == "in-transaction" {
		mode = subscription.InTransaction
	}
	orders := orderstore.NewQueries(pool, codec)
	run := application.RunnerConfig{
		Retry:                application.RetryPolicy{MaxAttempts: cfg.CommandAttempts, BaseDelay: 2 * time.Millisecond, MaxDelay: 100 * time.Millisecond},
		IdempotencyRetention: cfg.IdempotencyRetention,
	}
	// Consumers hear of a command by a NOTIFY sent after its commit (coalesced, outside
	// the append transaction); they also poll, so a lost NOTIFY only costs latency.
	app := application.NewApp(subscription.Notifying(orderstore.NewStore(pool, codec), notifier, mode), orders, run)
	// One line per further aggregate: its store, its queries and the ports it reads.
	shipments := eventcodec.NewShipmentRegistry()
	app.Shipments = application.NewShipments(subscription.Notifying(shipmentstore.NewStore(pool, shipments), notifier, mode),
		shipmentstore.NewQueries(pool, shipments), orders, run)
	app.Queries.CustomerSummary = application.NewGetCustomerSummaryHandler(customersummary.NewReader(pool))
	handler, err := httpapi.New(app, postgres.NewReadiness(pool), httpapi.Config{BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout}, log)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	svc := &service{handler: handler, pool: pool, notifier: notifier}
	if cfg.RunConsumers {
		svc.consumers = subscription.New(pool.Config().ConnConfig, subscription.Options{Channel: eventsChannel, Log: log},
			customersummary.Consumer(codec),
			fulfilment.Consumer(application.NewFulfilment(app.Shipments, log), codec))
	}
	return svc, pool.Close, nil
}
