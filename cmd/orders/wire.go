package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/application"
	"github.com/example/orders/infrastructure/auth"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/httpapi"
	"github.com/example/orders/infrastructure/postgres"
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

// service is everything serve runs, built by hand in one place.
type service struct {
	handler *echo.Echo
	pool    *pgxpool.Pool
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
	httpCfg := httpapi.Config{BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout, CORSAllowedOrigins: cfg.corsOrigins()}
	if cfg.AuthMode == "none" {
		log.Warn("AUTH_MODE=none: authentication is OFF, every caller may read and change every order; never run like this outside development")
	} else {
		verifier, err := auth.NewVerifier(auth.Config{HS256Secret: []byte(cfg.AuthHS256Secret), PublicKeyFile: cfg.AuthPublicKeyFile,
			JWKSURL: cfg.AuthJWKSURL, Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience, Leeway: cfg.AuthLeeway})
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		httpCfg.Auth = verifier
	}
	handler, err := httpapi.New(app, postgres.NewReadiness(pool), httpCfg, log)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return &service{handler: handler, pool: pool}, pool.Close, nil
}
