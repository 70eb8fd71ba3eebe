package subscription_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/orders/infrastructure/postgres/subscription"
)

// A worker's connection is the runtime's, with the session's runtime parameters kept
// (application_name, search_path: what the database URL set) and one added: a
// transaction left idle for longer than the lease ends the session. The runtime's own
// config is not changed.
func TestAWorkerConnectionKeepsTheRuntimeParametersAndEndsIdleTransactions(t *testing.T) {
	base, err := pgx.ParseConfig("postgres://u@localhost/db?application_name=orders&search_path=app")
	if err != nil {
		t.Fatal(err)
	}
	cfg := subscription.WorkerConnConfig(base, 1500*time.Millisecond)
	p := cfg.RuntimeParams
	if p["application_name"] != "orders" || p["search_path"] != "app" || p["idle_in_transaction_session_timeout"] != "1500" {
		t.Fatalf("worker runtime parameters: %v", p)
	}
	if _, ok := base.RuntimeParams["idle_in_transaction_session_timeout"]; ok {
		t.Fatalf("the runtime's config was changed: %v", base.RuntimeParams)
	}
	if got := subscription.WorkerConnConfig(base, 0).RuntimeParams["idle_in_transaction_session_timeout"]; got != "1" {
		t.Fatalf("a lease under a millisecond: timeout %q, want 1 (0 would mean none)", got)
	}
}
