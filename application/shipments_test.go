package application

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
)

// errPortAsked is what askedOrders answers, so that a check passed by mistake shows as
// that error.
var errPortAsked = errors.New("the port was asked")

// askedOrders is an OrderQueries port that must not be asked.
type askedOrders struct{}

func (askedOrders) ByID(context.Context, uuid.UUID) (OrderView, error) {
	return OrderView{}, errPortAsked
}
func (askedOrders) Events(context.Context, uuid.UUID, appkit.EventRange) ([]appkit.RecordedEvent[order.Event], error) {
	return nil, errPortAsked
}

// Only staff run shipment commands: a customer gets ErrForbidden before the order or
// the shipment is read, so that it learns nothing of either.
func TestShipmentCommandsAreStaffOnly(t *testing.T) {
	s := NewShipments(nil, nil, askedOrders{}, appkit.RunnerConfig{})
	ctx := customerCtx("alice")
	id := uuid.New()
	for name, run := range map[string]func() (ShipmentResult, error){
		"CreateShipment":   func() (ShipmentResult, error) { return s.CreateShipment(ctx, CreateShipment{OrderID: id}) },
		"DispatchShipment": func() (ShipmentResult, error) { return s.DispatchShipment(ctx, DispatchShipment{ShipmentID: id}) },
		"DeliverShipment":  func() (ShipmentResult, error) { return s.DeliverShipment(ctx, DeliverShipment{ShipmentID: id}) },
		"CancelShipment":   func() (ShipmentResult, error) { return s.CancelShipment(ctx, CancelShipment{ShipmentID: id}) },
	} {
		if _, err := run(); !errors.Is(err, appkit.ErrForbidden) || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("%s by a customer: %v, want %s: ErrForbidden", name, err, name)
		}
	}
	// Staff get as far as the order's read.
	if _, err := s.CreateShipment(appkit.AsSystem(context.Background()), CreateShipment{OrderID: id}); !errors.Is(err, errPortAsked) {
		t.Errorf("CreateShipment by staff: %v, want the order's read", err)
	}
}
