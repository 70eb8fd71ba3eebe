package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
)

// ShipmentView is a shipment as of a version.
type ShipmentView = Versioned[shipment.State]

// ShipmentStore is the write side's port for shipments.
type ShipmentStore = EventStore[shipment.State, shipment.Event]

// ShipmentResult is a shipment command's outcome.
type ShipmentResult = CommandResult[shipment.State]

// ShipmentOptions are the options of a shipment command.
type ShipmentOptions = CommandOptions

// Shipments are the shipment use cases, commands and queries.
type Shipments struct {
	handler *CommandHandler[shipment.Command, shipment.Event, shipment.State]
	orders  OrderQueries

	GetShipment     *GetShipmentHandler
	ListShipments   *ListShipmentsHandler
	ShipmentHistory *ShipmentHistoryHandler
	ShipmentAsOf    *ShipmentAsOfHandler
}

// NewShipments returns the shipment use cases, writing through store, reading through
// q and reading orders (to ship) through orders.
func NewShipments(store ShipmentStore, q ShipmentQueries, orders OrderQueries, cfg RunnerConfig) *Shipments {
	return &Shipments{
		handler:         NewCommandHandler(shipment.Resource, store, shipment.Decider, cfg),
		orders:          orders,
		GetShipment:     &GetShipmentHandler{q},
		ListShipments:   &ListShipmentsHandler{q},
		ShipmentHistory: &ShipmentHistoryHandler{q},
		ShipmentAsOf:    &ShipmentAsOfHandler{q},
	}
}

// handle runs a shipment command. Only staff run shipment commands (ErrForbidden for a
// customer); the check comes before anything is read, so that a customer learns nothing
// of a shipment, not even whether it exists.
func (s *Shipments) handle(ctx context.Context, name string, id uuid.UUID, opts ShipmentOptions, build func(at time.Time) shipment.Command) (ShipmentResult, error) {
	if err := RequireStaff(ctx); err != nil {
		return ShipmentResult{}, fmt.Errorf("%s: %w", name, err)
	}
	return s.handler.Handle(ctx, Command[shipment.Command, shipment.State]{Name: name, ID: id, Options: opts, Build: build})
}

// CreateShipment ships a confirmed order's lines. The shipment's id is derived from
// the order's (shipment.ShipmentIDFor), so an order has at most one shipment: a second
// create answers shipment.ErrExists. The order is read from its read model before the
// command's transaction; an unknown order is order.ErrNotFound. The shipment belongs to
// the order's customer (shipment.State.CustomerID). Only staff create shipments.
type CreateShipment struct {
	OrderID uuid.UUID
	Options ShipmentOptions
}

func (s *Shipments) CreateShipment(ctx context.Context, cmd CreateShipment) (ShipmentResult, error) {
	// Before the order is read: a customer may not probe which orders exist.
	if err := RequireStaff(ctx); err != nil {
		return ShipmentResult{}, fmt.Errorf("CreateShipment: %w", err)
	}
	o, err := s.orders.OrderByID(ctx, cmd.OrderID)
	if err != nil {
		return ShipmentResult{}, fmt.Errorf("create shipment for order %s: %w", cmd.OrderID, err)
	}
	items := make([]shipment.Item, len(o.State.Lines))
	for i, l := range o.State.Lines {
		items[i] = shipment.Item{SKU: l.SKU, Quantity: l.Quantity}
	}
	id := shipment.ShipmentIDFor(cmd.OrderID)
	return s.handle(ctx, "CreateShipment", id, cmd.Options, func(at time.Time) shipment.Command {
		return shipment.CreateShipment{ShipmentID: id, OrderID: cmd.OrderID, CustomerID: o.State.CustomerID, Items: items,
			OrderConfirmed: o.State.Status == order.StatusConfirmed, At: at}
	})
}

// DispatchShipment hands a pending shipment to a carrier.
type DispatchShipment struct {
	ShipmentID          uuid.UUID
	Carrier, TrackingNo string
	Options             ShipmentOptions
}

func (s *Shipments) DispatchShipment(ctx context.Context, cmd DispatchShipment) (ShipmentResult, error) {
	return s.handle(ctx, "DispatchShipment", cmd.ShipmentID, cmd.Options, func(at time.Time) shipment.Command {
		return shipment.Dispatch{Carrier: cmd.Carrier, TrackingNo: cmd.TrackingNo, At: at}
	})
}

// DeliverShipment records that a dispatched shipment arrived; again is a no-op.
type DeliverShipment struct {
	ShipmentID uuid.UUID
	Options    ShipmentOptions
}

func (s *Shipments) DeliverShipment(ctx context.Context, cmd DeliverShipment) (ShipmentResult, error) {
	return s.handle(ctx, "DeliverShipment", cmd.ShipmentID, cmd.Options, func(at time.Time) shipment.Command {
		return shipment.Deliver{At: at}
	})
}

// CancelShipment ends a pending shipment; again is a no-op.
type CancelShipment struct {
	ShipmentID uuid.UUID
	Reason     string
	Options    ShipmentOptions
}

func (s *Shipments) CancelShipment(ctx context.Context, cmd CancelShipment) (ShipmentResult, error) {
	return s.handle(ctx, "CancelShipment", cmd.ShipmentID, cmd.Options, func(at time.Time) shipment.Command {
		return shipment.Cancel{Reason: cmd.Reason, At: at}
	})
}
