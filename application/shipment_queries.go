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
// the event log for history and time travel.
type ShipmentQueries interface {
	// ShipmentByID returns shipment.ErrNotFound for an unknown id.
	ShipmentByID(ctx context.Context, id uuid.UUID) (ShipmentView, error)
	ListShipments(ctx context.Context, q ListShipments) (ShipmentPage, error)
	// ShipmentEvents is an EventReader of shipments.
	ShipmentEvents(ctx context.Context, id uuid.UUID, toVersion int64, until *time.Time) ([]RecordedEvent[shipment.Event], error)
}

// GetShipmentHandler answers a shipment by id from the read model.
type GetShipmentHandler struct{ queries ShipmentQueries }

func (h *GetShipmentHandler) Handle(ctx context.Context, id uuid.UUID) (ShipmentView, error) {
	v, err := h.queries.ShipmentByID(ctx, id)
	if err != nil {
		return ShipmentView{}, fmt.Errorf("get shipment %s: %w", id, err)
	}
	return v, nil
}

// ListShipments asks for shipments newest first (by created_at), optionally filtered,
// one page at a time. Limit 0 means DefaultPageSize; Cursor is the previous page's
// NextCursor.
type ListShipments struct {
	OrderID *uuid.UUID
	Status  shipment.Status
	Limit   int
	Cursor  string
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
	page, err := h.queries.ListShipments(ctx, q)
	if err != nil {
		return ShipmentPage{}, fmt.Errorf("list shipments: %w", err)
	}
	return page.withCursor(), nil
}

// ShipmentHistoryHandler answers a shipment's events, in version order.
type ShipmentHistoryHandler struct{ queries ShipmentQueries }

func (h *ShipmentHistoryHandler) Handle(ctx context.Context, id uuid.UUID) ([]RecordedEvent[shipment.Event], error) {
	return history(ctx, h.queries.ShipmentEvents, shipment.Resource, id, shipment.ErrNotFound)
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
	return asOf(ctx, h.queries.ShipmentEvents, shipment.Decider, shipment.Resource, shipment.ErrNotFound, q.ShipmentID, q.Version, q.At)
}
