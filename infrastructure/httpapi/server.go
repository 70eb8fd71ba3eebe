package httpapi

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

// Config holds the transport's limits.
type Config struct {
	BodyLimit      int64         // bytes; larger bodies get 413
	RequestTimeout time.Duration // every request's context ends after this (except a stream's)
	// Auth checks bearer tokens; nil turns authentication off (AUTH_MODE=none):
	// every caller is then application.Unrestricted.
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

var registerFormats sync.Once // kin-openapi keeps formats and body decoders in globals

// New returns the HTTP handler of the service: the generated routes behind request
// ids, security headers, logging, CORS, timeouts, the contract's HTTP rules
// (operationRules), authentication and validation against openapi.yaml.
func New(app application.App, ready Readiness, events EventFeed, cfg Config, log *slog.Logger) (*echo.Echo, error) {
	spec, err := api.SpecYAML()
	if err != nil {
		return nil, fmt.Errorf("httpapi: read embedded spec: %w", err)
	}
	doc, err := api.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load embedded spec: %w", err)
	}
	// kin-openapi checks format: uuid only when told how; RFC 9562's pattern accepts
	// UUIDv7, the ids this service hands out.
	registerFormats.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
		openapi3filter.RegisterBodyDecoder("application/json", strictJSONBody)
	})

	doc.Servers = nil // paths are matched whatever the host
	rules, err := operationRules(doc, cfg.BodyLimit)
	if err != nil {
		return nil, fmt.Errorf("httpapi: route the embedded spec: %w", err)
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(log)
	e.Pre(headAsGet())
	e.Use(cfg.Observe...)
	e.Use(
		requestID(),
		securityHeaders(),
		accessLog(log),
		recoverPanics(log),
		cors(cfg.CORSAllowedOrigins),
		timeout(cfg.RequestTimeout),
		rules,
		authenticate(cfg.Auth, log),
		validateRequests(),
	)
	h := &Handlers{app: app, ready: ready, spec: spec, log: log, feed: events, feedCfg: cfg.Feed}
	api.RegisterHandlers(e, api.NewStrictHandler(h, nil))
	headRoutes(e)
	return e, nil
}
