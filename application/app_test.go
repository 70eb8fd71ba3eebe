package application

import (
	"strings"
	"testing"

	"github.com/example/orders/application/appkit"
)

// TestNewAppRefusesAMissingAggregateOrPort: an aggregate or a port left out stops NewApp
// (the service, at start), naming each; nothing is half-built.
func TestNewAppRefusesAMissingAggregateOrPort(t *testing.T) {
	app, err := NewApp(Aggregates{}, Ports{}, appkit.RunnerConfig{})
	for _, want := range []string{"Aggregates.Orders is not set", "Ports.CustomerSummaries is not set"} {
		if err == nil || !strings.Contains(err.Error(), want) || app.CustomerSummary != nil {
			t.Fatalf("NewApp(Aggregates{}, Ports{}) = %+v, %v: want %q and no app", app, err, want)
		}
	}
}
