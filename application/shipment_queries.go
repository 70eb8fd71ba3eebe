package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/shipment"
)

// ShipmentQueries is the read side of shipments: the shipment_overview read model, and
// the event log for history and time travel. The port answers what it is asked; the
// handlers below restrict it to what the caller may see: a customer sees the shipments
// of its own orders (shipment.State.CustomerID), another customer's shipment answers
// shipment.ErrNotFound like a missing one, and lists are narrowed to the caller.
type ShipmentQueries interface {
	// ShipmentByID returns shipment.ErrNotFound for an unknown id.
	ShipmentByID(ctx context.Context, id uuid.UUID) (ShipmentView, error)
	ListShipments(ctx context.Context, q ListShipments) (ShipmentPage, error)
	// ShipmentEvents is an EventReader of shipments.
	ShipmentEvents(ctx context.Context, id uuid.UUID, r EventRange) ([]RecordedEvent[shipment.Event], error)
}

// GetShipmentHandler answers a shipment by id from the read model.
type GetShipmentHandler struct{ queries ShipmentQueries }

func (h *GetShipmentHandler) Handle(ctx context.Context, id uuid.UUID) (ShipmentView, error) {
	v, err := h.queries.ShipmentByID(ctx, id)
	if err != nil {
		return ShipmentView{}, fmt.Errorf("get shipment %s: %w", id, err)
	}
	if !CanSeeCustomer(ctx, v.State.CustomerID) {
		return ShipmentView{}, fmt.Errorf("get shipment %s: not the caller's: %w", id, shipment.ErrNotFound)
	}
	return v, nil
}

// ListShipments asks for shipments newest first (by created_at), optionally filtered,
// one page at a time. Limit 0 means DefaultPageSize; Cursor is the previous page's
// NextCursor.
type ListShipments struct {
	OrderID *uuid.UUID
	Status  shipment.Status
	// CustomerID restricts the list to the shipments of this customer's orders ("" for
	// all). The handler sets it to the caller's subject for a customer; staff may set it.
	CustomerID string
	Limit      int
	Cursor     string
	// After is Cursor decoded; the handler sets it for the ShipmentQueries port.
	After *PageKey
}

// ShipmentPage is one page of shipments.
type ShipmentPage = Page[ShipmentView]

// ListShipmentsHandler answers ListShipments from the read model.
type ListShipmentsHandler struct{ queries ShipmentQueries }

func (h *ListShipmentsHandler) Handle(ctx context.Context, q ListShipments) (ShipmentPage, error) {
	var invalid []kit.FieldError
	q.Limit = checkLimit(q.Limit, &invalid)
	switch q.Status {
	case shipment.StatusNone, shipment.StatusPending, shipment.StatusDispatched, shipment.StatusDelivered, shipment.StatusCancelled:
	default:
		invalid = append(invalid, kit.FieldError{Field: "status", Message: "must be pending, dispatched, delivered or cancelled"})
	}
	q.After = checkCursor(q.Cursor, &invalid)
	if len(invalid) > 0 {
		return ShipmentPage{}, fmt.Errorf("list shipments: %w", &kit.ValidationError{Fields: invalid})
	}
	// A customer lists the shipments of its own orders only: asking for another
	// customer's gives an empty page, and so does another customer's order_id (the
	// customer filter matches none of its shipments).
	customer, visible, err := ownerFilter(ctx, q.CustomerID)
	if err != nil {
		return ShipmentPage{}, fmt.Errorf("list shipments: %w", err)
	}
	if !visible {
		return ShipmentPage{Items: []ShipmentView{}}, nil
	}
	q.CustomerID = customer
	page, err := h.queries.ListShipments(ctx, q)
	if err != nil {
		return ShipmentPage{}, fmt.Errorf("list shipments: %w", err)
	}
	return page.withCursor(), nil
}

// ShipmentHistoryHandler answers a shipment's events, in version order, a page at a time.
type ShipmentHistoryHandler struct{ queries ShipmentQueries }

// Handle answers a page of the shipment's events. The first event (ShipmentCreated)
// names the owner; another customer's shipment is shipment.ErrNotFound.
func (h *ShipmentHistoryHandler) Handle(ctx context.Context, q HistoryQuery) (HistoryPage[shipment.Event], error) {
	return history(ctx, h.queries.ShipmentEvents, shipment.Resource, q, shipment.ErrNotFound,
		func(first shipment.Event) string { return shipment.Evolve(shipment.Initial(), first).CustomerID })
}

// ShipmentAsOf asks for a shipment at a version or a time (exactly one of them).
type ShipmentAsOf struct {
	ShipmentID uuid.UUID
	Version    int64      // 0: not given
	At         *time.Time // nil: not given
}

// ShipmentAsOfHandler handles ShipmentAsOf.
type ShipmentAsOfHandler struct{ queries ShipmentQueries }

func (h *ShipmentAsOfHandler) Handle(ctx context.Context, q ShipmentAsOf) (ShipmentView, error) {
	v, err := asOf(ctx, h.queries.ShipmentEvents, shipment.Decider, shipment.Resource, shipment.ErrNotFound, q.ShipmentID, q.Version, q.At)
	if err == nil && !CanSeeCustomer(ctx, v.State.CustomerID) {
		return ShipmentView{}, fmt.Errorf("shipment %s as of: not the caller's: %w", q.ShipmentID, shipment.ErrNotFound)
	}
	return v, err
}
