package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/auth"
	"github.com/example/orders/infrastructure/console"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/httpapi"
	"github.com/example/orders/infrastructure/metrics"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/feed"
	"github.com/example/orders/infrastructure/postgres/fulfilment" // example: shipment
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/infrastructure/tracing"
	"github.com/example/orders/infrastructure/wiring"
)

// service is everything serve runs, built by hand in one place.
type service struct {
	handler http.Handler // the API, and GET /metrics outside it unless METRICS_ADDR is set
	// metricsHandler is what METRICS_ADDR serves: GET /metrics and nothing else.
	metricsHandler http.Handler
	pool           *pgxpool.Pool
	feed           *feed.Feed
	// stopStreams ends every event stream; serve calls it before the HTTP server's
	// graceful shutdown, which would otherwise wait for them.
	stopStreams func()
	notifier    *subscription.Notifier
	consumers   *subscription.Runtime // nil when this instance runs none
	keys        *personaldata.Keys
}

// build is the composition root: it sets up tracing from the OTEL_* environment,
// connects to the database and wires the infrastructure into the application and the
// application into HTTP. The returned cleanup flushes the traces and closes what build
// opened.
func build(ctx context.Context, cfg Config, log *slog.Logger) (*service, func(), error) {
	tr, shutdownTracing, err := tracing.Setup(ctx, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	svc, closePool, err := buildWith(ctx, cfg, log, tr)
	if err != nil {
		_ = shutdownTracing(context.WithoutCancel(ctx)) // also when ctx has ended
		return nil, nil, err
	}
	return svc, func() {
		closePool()
		// The cleanup runs after ctx is cancelled (shutdown): keep its values, not its end.
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(flushCtx); err != nil {
			log.Warn("flush traces", "error", err.Error())
		}
	}, nil
}

// buildWith is build with the tracing given (tests give an in-memory exporter).
func buildWith(ctx context.Context, cfg Config, log *slog.Logger, tr *tracing.Tracing) (*service, func(), error) {
	m := metrics.New()
	acquires := &metrics.AcquireCounter{}
	var pgTracer pgx.QueryTracer = acquires
	if t := tr.PgxTracer(); t != nil {
		pgTracer = multitracer.New(acquires, t)
	}
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, int32(cfg.MaxConns), postgres.WithTracer(pgTracer)) //nolint:gosec // Config.validate keeps it within 1..1000
	if err != nil {
		return nil, nil, err
	}
	m.ObservePool(pool, acquires)
	notifier := subscription.NewNotifier(pool, feed.Channel)
	run := appkit.RunnerConfig{
		Retry:                appkit.RetryPolicy{MaxAttempts: cfg.CommandAttempts, BaseDelay: 2 * time.Millisecond, MaxDelay: 100 * time.Millisecond},
		IdempotencyRetention: cfg.IdempotencyRetention,
		Observer:             appkit.JoinObservers(tr.CommandObserver(), m),
		Traceparent:          tracing.Traceparent,
		// Consumers (and the feed) hear of a command by a NOTIFY on feed.Channel sent
		// after its commit, coalesced, outside the append transaction; they also poll,
		// so a lost NOTIFY only costs latency.
		AfterCommit: notifier.Notify,
	}
	keys, err := cfg.personalDataKeys()
	if err == nil {
		err = keys.Check(ctx, pool) // a lost or wrong KEK stops the start, by name
	}
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	app, known, err := wiring.App(pool, m, customersummary.NewReader(pool), keys, run)
	if err == nil {
		err = httpapi.CheckProblems(known.Errors)
	}
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	events := feed.New(pool, cfg.SSEPoll, keys, log)
	shutdown := make(chan struct{})
	httpCfg := httpapi.Config{BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout, CORSAllowedOrigins: cfg.corsOrigins(),
		Observe: []echo.MiddlewareFunc{tr.Middleware(), m.Middleware()}, //nolint:contextcheck // middleware: each request brings its own context
		Feed: httpapi.FeedConfig{EventTypes: known.EventTypes, Heartbeat: cfg.SSEHeartbeat, WriteTimeout: cfg.SSEWriteTimeout,
			MaxStreams: cfg.SSEMaxStreams, MaxStreamsPerCaller: cfg.SSEMaxStreamsPerCaller, MaxLifetime: cfg.SSEMaxLifetime, Shutdown: shutdown}}
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
	api, err := httpapi.New(app, postgres.NewReadiness(pool), events, httpCfg, log) //nolint:contextcheck // handlers: each request brings its own context
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	var once sync.Once
	stop := func() { once.Do(func() { close(shutdown) }) }
	svc := &service{handler: publicHandler(console.Handler(api), m.Handler(), cfg.MetricsAddr == ""), metricsHandler: metricsOnly(m.Handler()),
		pool: pool, feed: events, stopStreams: stop, notifier: notifier, keys: keys}
	if cfg.RunConsumers {
		svc.consumers = subscription.New(pool.Config().ConnConfig, subscription.Options{Channel: feed.Channel, Log: log, Span: tr.ConsumerSpan, MinInterval: cfg.ConsumerInterval,
			Partitions: cfg.ConsumerPartitions, OnProgress: summaryProgress(app.CustomerSummary)},
			customersummary.Consumer(eventcodec.NewOrderRegistry()),
			fulfilment.Consumer(application.NewFulfilment(app.Shipments, log), eventcodec.NewOrderRegistry()), // example: shipment
		)
		m.ObserveConsumers(newConsumerStats(pool, svc.consumers))
	}
	return svc, pool.Close, nil
}

// summaryProgress wakes the reads waiting for customer_summary when its consumer moves
// in this process; when another replica runs it, the waits poll (one query per
// process).
func summaryProgress(summaries *application.GetCustomerSummaryHandler) func(string, int64) {
	name := customersummary.ConsumerName(customersummary.Version)
	return func(consumer string, _ int64) {
		if consumer == name {
			summaries.Progressed()
		}
	}
}

// publicHandler is what LISTEN_ADDR serves: the API (with the console's static files,
// console.Handler, in front of it) and, when withMetrics, GET /metrics
// (unauthenticated, for the scraper) beside it rather than through it: it is
// not part of the API's contract (openapi.yaml), so it skips the contract's
// validation, and its own scrapes are not counted. It is no http.ServeMux, which
// answered paths such as //x or /a/../b with a text/html 307 redirect: the API answers
// them 404 like any unknown path. Every response has the security headers.
func publicHandler(api, metricsHandler http.Handler, withMetrics bool) http.Handler {
	return httpapi.WithSecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if withMetrics && r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			metricsHandler.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
}

// metricsOnly is what METRICS_ADDR serves: GET (and HEAD) /metrics; anything else is
// the API's 404 or 405 problem, with the security headers.
func metricsOnly(metricsHandler http.Handler) http.Handler {
	return httpapi.WithSecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/metrics":
			httpapi.WriteProblem(w, r, http.StatusNotFound, "This listener serves GET /metrics only.")
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			httpapi.WriteProblem(w, r, http.StatusMethodNotAllowed, "This path does not support "+r.Method+".")
		default:
			metricsHandler.ServeHTTP(w, r)
		}
	}))
}
