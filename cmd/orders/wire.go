package main

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/application"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/httpapi"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/feed"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/shipmentstore"
	"github.com/example/orders/infrastructure/postgres/verify"
)

// readModels are the inline read models `verify` checks and `rebuild` rebuilds, one
// line each: an aggregate's store package says how (orderstore.ReadModel).
func readModels() []verify.ReadModel {
	return []verify.ReadModel{
		orderstore.ReadModel(eventcodec.NewOrderRegistry()),
		shipmentstore.ReadModel(eventcodec.NewShipmentRegistry()),
	}
}

// eventTypes is every event type of every aggregate, from their codecs' registries:
// what GET /events accepts in ?types=. An aggregate adds its registry's Names here.
func eventTypes() []string {
	names := append(eventcodec.NewOrderRegistry().Names(), eventcodec.NewShipmentRegistry().Names()...)
	slices.Sort(names)
	return slices.Compact(names)
}

// service is everything serve runs, built by hand in one place.
type service struct {
	handler *echo.Echo
	pool    *pgxpool.Pool
	feed    *feed.Feed
	// stopStreams ends every event stream; serve calls it before the HTTP server's
	// graceful shutdown, which would otherwise wait for them.
	stopStreams func()
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
	orders := orderstore.NewQueries(pool, codec)
	run := application.RunnerConfig{
		Retry:                application.RetryPolicy{MaxAttempts: cfg.CommandAttempts, BaseDelay: 2 * time.Millisecond, MaxDelay: 100 * time.Millisecond},
		IdempotencyRetention: cfg.IdempotencyRetention,
	}
	app := application.NewApp(orderstore.NewStore(pool, codec), orders, run)
	// One line per further aggregate: its store, its queries and the ports it reads.
	shipments := eventcodec.NewShipmentRegistry()
	app.Shipments = application.NewShipments(shipmentstore.NewStore(pool, shipments), shipmentstore.NewQueries(pool, shipments), orders, run)
	events := feed.New(pool, cfg.SSEPoll, log)
	shutdown := make(chan struct{})
	handler, err := httpapi.New(app, postgres.NewReadiness(pool), events, httpapi.Config{
		BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
		Feed: httpapi.FeedConfig{EventTypes: eventTypes(), Heartbeat: cfg.SSEHeartbeat, WriteTimeout: cfg.SSEWriteTimeout,
			MaxStreams: cfg.SSEMaxStreams, MaxLifetime: cfg.SSEMaxLifetime, Shutdown: shutdown},
	}, log)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	var once sync.Once
	stop := func() { once.Do(func() { close(shutdown) }) }
	return &service{handler: handler, pool: pool, feed: events, stopStreams: stop}, pool.Close, nil
}
