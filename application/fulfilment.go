package application

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
)

// ShipmentCommander is what the fulfilment process manager needs of shipments;
// *Shipments is one.
type ShipmentCommander interface {
	CreateShipment(ctx context.Context, cmd CreateShipment) (ShipmentResult, error)
	CancelShipment(ctx context.Context, cmd CancelShipment) (ShipmentResult, error)
}

// OrderEventMessage is an order event as a process manager receives it from the log.
type OrderEventMessage struct {
	EventID       uuid.UUID
	OrderID       uuid.UUID
	CorrelationID string
	Event         order.Event
}

// Fulfilment is the process manager that ships orders: OrderConfirmed creates the
// order's shipment, OrderCancelled cancels it unless it has been dispatched (then it
// logs a warning and counts it; a person has to get the parcel back, retrying cannot).
//
// It runs at least once per event, so every effect is idempotent: the shipment id is
// derived from the order id (one shipment per order at most), and each command carries
// the triggering event's id as its idempotency key. The commands' causation id is that
// event, their correlation id the order command's, so a shipment's history links back.
type Fulfilment struct {
	shipments ShipmentCommander
	log       *slog.Logger
	// CancelledAfterDispatch counts cancelled orders whose shipment had left already.
	CancelledAfterDispatch atomic.Int64
}

// NewFulfilment returns the process manager issuing commands through shipments.
func NewFulfilment(shipments ShipmentCommander, log *slog.Logger) *Fulfilment {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fulfilment{shipments: shipments, log: log}
}

// Handle reacts to one order event. An error means "try again" (the consumer retries
// it, and stops at it if it keeps failing); outcomes that retrying cannot change are
// logged and return nil.
func (f *Fulfilment) Handle(ctx context.Context, m OrderEventMessage) error {
	ctx = appkit.WithMetadata(appkit.AsSystem(ctx), appkit.Metadata{CorrelationID: m.CorrelationID, CausationID: m.EventID.String(), IssuedBy: "process fulfilment"})
	shipmentID := shipment.ShipmentIDFor(m.OrderID)
	switch m.Event.(type) {
	case order.OrderConfirmed:
		_, err := f.shipments.CreateShipment(ctx, CreateShipment{OrderID: m.OrderID, Options: f.once(m.EventID)})
		switch {
		case err == nil, errors.Is(err, shipment.ErrExists):
			return nil
		case errors.Is(err, shipment.ErrOrderNotConfirmed), errors.Is(err, order.ErrNotFound):
			// Cancelled (or gone) before we got here: nothing to ship.
			f.log.Info("fulfilment: order not shippable any more", "order_id", m.OrderID.String(), "error", err.Error())
			return nil
		}
		return err
	case order.OrderCancelled:
		_, err := f.shipments.CancelShipment(ctx, CancelShipment{ShipmentID: shipmentID, Reason: "order cancelled", Options: f.once(m.EventID)})
		switch {
		case err == nil, errors.Is(err, shipment.ErrNotFound):
			return nil // cancelled, or there was none (the order was never confirmed)
		case errors.Is(err, shipment.ErrAlreadyDispatched):
			f.CancelledAfterDispatch.Add(1)
			f.log.Warn("fulfilment: order cancelled after its shipment was dispatched; not cancelling the shipment",
				"order_id", m.OrderID.String(), "shipment_id", shipmentID.String(), "event_id", m.EventID.String())
			return nil
		}
		return err
	}
	return nil
}

// once makes a command run at most once per triggering event.
func (f *Fulfilment) once(eventID uuid.UUID) ShipmentOptions {
	key := "fulfilment:" + eventID.String()
	return ShipmentOptions{Idempotency: &appkit.Idempotency{Key: key, Fingerprint: key}}
}
