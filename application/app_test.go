package application

import (
	"strings"
	"testing"

	"github.com/example/orders/application/appkit"
)

// TestNewAppRefusesAMissingPort: a port left out stops NewApp (the service, at start),
// naming it; nothing is half-built.
func TestNewAppRefusesAMissingPort(t *testing.T) {
	app, err := NewApp(Ports{}, appkit.RunnerConfig{})
	if err == nil || !strings.Contains(err.Error(), "Ports.Orders is not set") || !strings.Contains(err.Error(), "Ports.CustomerSummaries is not set") || app.Orders != nil {
		t.Fatalf("NewApp(Ports{}) = %+v, %v: want every missing port named and no app", app, err)
	}
}
