package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
)

// ShipmentView is a shipment as of a version.
type ShipmentView = appkit.Versioned[shipment.State]

// ShipmentStore is the write side's port for shipments.
type ShipmentStore = appkit.EventStore[shipment.State, shipment.Event]

// ShipmentResult is a shipment command's outcome.
type ShipmentResult = appkit.CommandResult[shipment.State]

// ShipmentOptions are the options of a shipment command.
type ShipmentOptions = appkit.CommandOptions

// ShipmentQueries is the read side of shipments: the shipment_overview read model, and
// the event log for history and time travel. A customer sees the shipments of its own
// orders (shipment.State.CustomerID).
type ShipmentQueries interface {
	appkit.OwnedReads[shipment.State, shipment.Event]
	ListShipments(ctx context.Context, q ListShipments) (ShipmentPage, error)
}

// Shipments are the shipment use cases: the kit's Aggregate (the owned reads, the
// command handler and the queries port) and a few lines per command.
type Shipments struct {
	appkit.Aggregate[shipment.Command, shipment.Event, shipment.State, ShipmentQueries]
	orders appkit.OwnedReads[order.State, order.Event]
}

// shipmentAggregate: a customer sees the shipments of its own orders (shipment.State.CustomerID);
// only staff run shipment commands.
var shipmentAggregate = appkit.Definition[shipment.Command, shipment.Event, shipment.State]{Resource: shipment.Resource,
	Decider: shipment.Decider, NotFound: shipment.ErrNotFound, Owner: func(s shipment.State) string { return s.CustomerID }, StaffOnly: true}

// NewShipments returns the shipment use cases, writing through store, reading through
// q and reading orders (to ship) through orders.
func NewShipments(store ShipmentStore, q ShipmentQueries, orders appkit.OwnedReads[order.State, order.Event], cfg appkit.RunnerConfig) *Shipments {
	return &Shipments{Aggregate: appkit.NewAggregate(shipmentAggregate, store, q, cfg), orders: orders}
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
	if err := appkit.RequireStaff(ctx); err != nil {
		return ShipmentResult{}, fmt.Errorf("CreateShipment: %w", err)
	}
	o, err := s.orders.ByID(ctx, cmd.OrderID)
	if err != nil {
		return ShipmentResult{}, fmt.Errorf("create shipment for order %s: %w", cmd.OrderID, err)
	}
	items := make([]shipment.Item, len(o.State.Lines))
	for i, l := range o.State.Lines {
		items[i] = shipment.Item{SKU: l.SKU, Quantity: l.Quantity}
	}
	id := shipment.ShipmentIDFor(cmd.OrderID)
	return s.Commands.Run(ctx, "CreateShipment", id, cmd.Options, func(at time.Time) shipment.Command {
		return shipment.CreateShipment{ShipmentID: id, OrderID: cmd.OrderID, CustomerID: o.State.CustomerID, Items: items,
			ShipTo: shipTo(o.State.Contact), OrderConfirmed: o.State.Status == order.StatusConfirmed, At: at}
	})
}

// DispatchShipment hands a pending shipment to a carrier.
type DispatchShipment struct {
	ShipmentID          uuid.UUID
	Carrier, TrackingNo string
	Options             ShipmentOptions
}

func (s *Shipments) DispatchShipment(ctx context.Context, cmd DispatchShipment) (ShipmentResult, error) {
	return s.Commands.Run(ctx, "DispatchShipment", cmd.ShipmentID, cmd.Options, func(at time.Time) shipment.Command {
		return shipment.Dispatch{Carrier: cmd.Carrier, TrackingNo: cmd.TrackingNo, At: at}
	})
}

// DeliverShipment records that a dispatched shipment arrived; again is a no-op.
type DeliverShipment struct {
	ShipmentID uuid.UUID
	Options    ShipmentOptions
}

func (s *Shipments) DeliverShipment(ctx context.Context, cmd DeliverShipment) (ShipmentResult, error) {
	return s.Commands.Run(ctx, "DeliverShipment", cmd.ShipmentID, cmd.Options, func(at time.Time) shipment.Command {
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
	return s.Commands.Run(ctx, "CancelShipment", cmd.ShipmentID, cmd.Options, func(at time.Time) shipment.Command {
		return shipment.Cancel{Reason: cmd.Reason, At: at}
	})
}

// ListShipments asks for shipments newest first (by created_at), optionally filtered,
// one page at a time. Limit 0 means DefaultPageSize; Cursor is the previous page's
// NextCursor.
type ListShipments struct {
	OrderID *uuid.UUID
	Status  shipment.Status
	// CustomerID restricts the list to the shipments of this customer's orders ("" for
	// all). ListShipments sets it to the caller's subject for a customer; staff may set it.
	CustomerID string
	Limit      int
	Cursor     string
	// After is Cursor decoded; ListShipments sets it for the ShipmentQueries port.
	After *appkit.PageKey
}

// ShipmentPage is one page of shipments.
type ShipmentPage = appkit.Page[ShipmentView]

// ListShipments answers a page of shipments from the read model. A customer lists the
// shipments of its own orders only: another customer's order_id gives an empty page
// (the customer filter matches none of its shipments).
func (s *Shipments) ListShipments(ctx context.Context, q ListShipments) (ShipmentPage, error) {
	invalid := appkit.OneOf("status", q.Status, shipment.StatusPending, shipment.StatusDispatched, shipment.StatusDelivered, shipment.StatusCancelled)
	return appkit.List(ctx, "shipments", q.Limit, q.Cursor, q.CustomerID, invalid, func(limit int, after *appkit.PageKey, customer string) (ShipmentPage, error) {
		q.Limit, q.After, q.CustomerID = limit, after, customer
		return s.Queries.ListShipments(ctx, q)
	})
}

// shipTo is where an order's shipment goes: its contact's name and address, read opened
// from the order (none when the order has no contact, or it was erased).
func shipTo(c kit.Personal[order.Contact]) *shipment.ShipTo {
	v, ok := c.Value()
	if !ok {
		return nil
	}
	a := v.Address
	return &shipment.ShipTo{Name: v.Name, Line1: a.Line1, Line2: a.Line2, PostalCode: a.PostalCode, City: a.City, Country: a.Country}
}
