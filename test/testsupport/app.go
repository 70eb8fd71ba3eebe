package testsupport

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/wiring"
)

// NewApp is the application over pool as the service builds it (wiring.App): every
// registered aggregate, so that a store's tests need no wiring of their own. opts tune
// the command runner (a clock, retries).
func NewApp(tb testing.TB, pool *pgxpool.Pool, opts ...func(*appkit.RunnerConfig)) application.App {
	tb.Helper()
	var cfg appkit.RunnerConfig
	for _, o := range opts {
		o(&cfg)
	}
	app, _, err := wiring.App(pool, nil, customersummary.NewReader(pool), NewKeys(tb), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return app
}

// NewKeys returns personal data keys under a new random KEK, as a service configured
// with PII_KEK has.
func NewKeys(tb testing.TB) *personaldata.Keys {
	tb.Helper()
	text, err := personaldata.NewKEKText()
	if err != nil {
		tb.Fatal(err)
	}
	kek, err := personaldata.ParseKEK(text)
	if err != nil {
		tb.Fatal(err)
	}
	return personaldata.NewKeys(kek)
}
