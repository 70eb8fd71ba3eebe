package application

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
)

// commander is a ShipmentCommander that answers err and writes down each command,
// with the principal and metadata it came with.
type commander struct {
	err   error
	calls []string
	md    []appkit.Metadata
}

func (c *commander) record(ctx context.Context, call string) {
	p, _ := appkit.PrincipalFrom(ctx)
	c.calls = append(c.calls, call+" by "+p.Subject)
	c.md = append(c.md, appkit.MetadataFrom(ctx))
}

func (c *commander) CreateShipment(ctx context.Context, cmd CreateShipment) (ShipmentResult, error) {
	c.record(ctx, fmt.Sprintf("create for %s once per %s", cmd.OrderID, cmd.Options.Idempotency.Key))
	return ShipmentResult{}, c.err
}

func (c *commander) CancelShipment(ctx context.Context, cmd CancelShipment) (ShipmentResult, error) {
	c.record(ctx, fmt.Sprintf("cancel %s (%s) once per %s", cmd.ShipmentID, cmd.Reason, cmd.Options.Idempotency.Key))
	return ShipmentResult{}, c.err
}

// Fulfilment ships a confirmed order and cancels a cancelled order's shipment, as the
// system, once per triggering event (its id is the idempotency key, and the causation
// id), within the order command's correlation. What retrying cannot change ends the
// event (nil): a shipment that exists, an order not shippable any more, no shipment to
// cancel, or one dispatched already (counted); anything else is retried (the error).
func TestFulfilmentShipsAndCancelsOncePerEvent(t *testing.T) {
	orderID, eventID := uuid.New(), uuid.New()
	key := "fulfilment:" + eventID.String()
	create := fmt.Sprintf("create for %s once per %s by system", orderID, key)
	cancel := fmt.Sprintf("cancel %s (order cancelled) once per %s by system", shipment.ShipmentIDFor(orderID), key)
	outage := errors.New("connection reset")
	for _, c := range []struct {
		name       string
		event      order.Event
		answer     error
		want       error
		call       string // "" for none
		dispatched int64
	}{
		{"confirmed", order.OrderConfirmed{}, nil, nil, create, 0},
		{"confirmed, shipped already", order.OrderConfirmed{}, shipment.ErrExists, nil, create, 0},
		{"confirmed, cancelled since", order.OrderConfirmed{}, fmt.Errorf("create: %w", shipment.ErrOrderNotConfirmed), nil, create, 0},
		{"confirmed, gone", order.OrderConfirmed{}, order.ErrNotFound, nil, create, 0},
		{"confirmed, an outage", order.OrderConfirmed{}, outage, outage, create, 0},
		{"cancelled", order.OrderCancelled{}, nil, nil, cancel, 0},
		{"cancelled, never shipped", order.OrderCancelled{}, shipment.ErrNotFound, nil, cancel, 0},
		{"cancelled after dispatch", order.OrderCancelled{}, fmt.Errorf("cancel: %w", shipment.ErrAlreadyDispatched), nil, cancel, 1},
		{"cancelled, an outage", order.OrderCancelled{}, outage, outage, cancel, 0},
		{"a line added", order.OrderLineAdded{}, outage, nil, "", 0},
	} {
		ships := &commander{err: c.answer}
		f := NewFulfilment(ships, nil) // no logger: logs nowhere
		err := f.Handle(context.Background(), OrderEventMessage{EventID: eventID, OrderID: orderID, CorrelationID: "corr", Event: c.event})
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.call == "" {
			if len(ships.calls) != 0 {
				t.Errorf("%s: commanded %v, want nothing", c.name, ships.calls)
			}
			continue
		}
		if len(ships.calls) != 1 || ships.calls[0] != c.call {
			t.Errorf("%s: commanded %q, want %q", c.name, ships.calls, c.call)
		} else if md := ships.md[0]; md.CorrelationID != "corr" || md.CausationID != eventID.String() || md.IssuedBy != "process fulfilment" {
			t.Errorf("%s: metadata %+v, want the event as the cause within its correlation", c.name, md)
		}
		if n := f.CancelledAfterDispatch.Load(); n != c.dispatched {
			t.Errorf("%s: %d counted as cancelled after dispatch, want %d", c.name, n, c.dispatched)
		}
	}
}
