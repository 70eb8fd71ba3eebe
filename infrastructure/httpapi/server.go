package httpapi

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

// Config holds the transport's limits.
type Config struct {
	BodyLimit      int64         // bytes; larger bodies get 413
	RequestTimeout time.Duration // every request's context ends after this (except a stream's)
	// Auth checks bearer tokens; nil turns authentication off (AUTH_MODE=none):
	// every caller is then appkit.Unrestricted.
	Auth Authenticator
	// CORSAllowedOrigins are the origins browsers may call from; none by default.
	CORSAllowedOrigins []string
	// Observe runs first on every routed request, before request ids and logging:
	// tracing and metrics middleware (tracing first, so that log lines carry the span).
	Observe []echo.MiddlewareFunc
	Feed    FeedConfig
}

// Handlers implements api.StrictServerInterface over the application.
type Handlers struct {
	app   application.App
	ready Readiness
	spec  []byte
	log   *slog.Logger

	feed    EventFeed
	feedCfg FeedConfig
	streams streamSlots // open event streams, in all and per caller
}

var _ api.StrictServerInterface = (*Handlers)(nil)

// New returns the HTTP handler of the service: the generated routes behind request
// ids, logging, CORS, timeouts, the contract's HTTP rules (operationRules),
// authentication and validation against openapi.yaml; the composition root puts it
// behind WithSecurityHeaders. The contract's operations are compiled here, once
// (compileOperations): a request is routed by echo alone and validated by the compiled
// checks.
func New(app application.App, ready Readiness, events EventFeed, cfg Config, log *slog.Logger) (*echo.Echo, error) {
	spec, err := api.SpecYAML()
	if err != nil {
		return nil, fmt.Errorf("httpapi: read embedded spec: %w", err)
	}
	doc, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load embedded spec: %w", err)
	}
	ops, err := compileOperations(doc)
	if err != nil {
		return nil, fmt.Errorf("httpapi: compile the embedded spec: %w", err)
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(log)
	e.Pre(headAsGet())
	e.Use(cfg.Observe...)
	e.Use(
		requestID(),
		accessLog(log),
		recoverPanics(log),
		cors(cfg.CORSAllowedOrigins),
		timeout(cfg.RequestTimeout),
		operationRules(ops, cfg.BodyLimit),
		authenticate(cfg.Auth, log),
		validateRequests(),
	)
	h := &Handlers{app: app, ready: ready, spec: spec, log: log, feed: events, feedCfg: cfg.Feed}
	api.RegisterHandlers(e, api.NewStrictHandler(h, nil))
	if err := ops.checkRoutes(e); err != nil {
		return nil, err
	}
	headRoutes(e)
	return e, nil
}
