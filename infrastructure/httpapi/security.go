package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/logging"
)

// Authenticator turns a bearer token into the caller's principal; auth.Verifier is
// one. The error's text goes to the debug log only, never to the client.
type Authenticator interface {
	Verify(ctx context.Context, token string) (appkit.Principal, error)
}

// authError is a 401: no credentials (a challenge only) or a bearer token that was
// refused (error="invalid_token", RFC 6750 §3.1).
type authError struct{ invalidToken bool }

func (e *authError) Error() string {
	if e.invalidToken {
		return "invalid bearer token"
	}
	return "no bearer token"
}

func (e *authError) challenge() string {
	if e.invalidToken {
		return `Bearer error="invalid_token"`
	}
	return "Bearer"
}

// authenticate puts the caller's principal into the request's context for the use
// cases, which decide what it may do. Operations the contract marks `security: []`
// (health, readiness, the contract) are public. Without an Authenticator
// (AUTH_MODE=none) every caller is appkit.Unrestricted. The token never reaches
// a log; the subject does (as "sub" on every line of the request).
func authenticate(auth Authenticator, log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if r := routedOf(c); r != nil && r.op.public {
				return next(c)
			}
			req := c.Request()
			ctx := req.Context()
			if auth == nil {
				c.SetRequest(req.WithContext(appkit.WithPrincipal(ctx, appkit.Unrestricted())))
				return next(c)
			}
			// Whatever the outcome, an answer to a request that needed credentials
			// is the caller's own: never stored by a cache.
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			scheme, token, _ := strings.Cut(req.Header.Get(echo.HeaderAuthorization), " ")
			if !strings.EqualFold(scheme, "Bearer") {
				return &authError{}
			}
			p, err := auth.Verify(ctx, strings.TrimSpace(token))
			if err != nil {
				log.DebugContext(ctx, "bearer token refused", "reason", err.Error())
				return &authError{invalidToken: true}
			}
			ctx = logging.With(appkit.WithPrincipal(ctx, p), slog.String("sub", p.Subject))
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

// WithSecurityHeaders gives every response of h the headers a JSON API sends whatever
// the response: no content sniffing, no referrer, nothing may be framed or loaded from a
// response opened in a browser. The composition root wraps each listener's handler in
// it (the API with the console's files in front, GET /metrics), so it is the one place
// they are set. net/http and echo send no Server header; neither does this.
func WithSecurityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := w.Header()
		header.Set(echo.HeaderXContentTypeOptions, "nosniff")
		header.Set(echo.HeaderReferrerPolicy, "no-referrer")
		header.Set(echo.HeaderContentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// WriteProblem answers status (a 4xx: 404, 405) with the problem document the API
// would, for handlers outside it, so that every listener answers alike.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	resp, err := encodeProblem(problemFor(echo.NewHTTPError(status, detail), r.URL.Path))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	_ = storedResponse{resp: resp}.write(w)
}

// cors answers cross-origin requests from the allowed origins only; with none
// configured (the default) it does nothing, so browsers refuse cross-origin calls.
// Credentials are bearer tokens, not cookies: Access-Control-Allow-Credentials is
// never sent.
func cors(origins []string) echo.MiddlewareFunc {
	if len(origins) == 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: origins,
		AllowMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
		AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType, "Idempotency-Key", "If-Match",
			"If-None-Match", "X-Correlation-ID", echo.HeaderXRequestID},
		ExposeHeaders: []string{"ETag", echo.HeaderLocation, echo.HeaderXRequestID, "Idempotency-Replayed",
			echo.HeaderRetryAfter, echo.HeaderWWWAuthenticate},
		MaxAge: 600,
	})
}
