package httpapi

import (
	"context"
	"fmt"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
	"github.com/example/orders/domain/shipment"
)

func toAPIShipment(v application.ShipmentView) api.Shipment {
	items := make([]api.ShipmentItem, len(v.State.Items))
	for i, it := range v.State.Items {
		items[i] = api.ShipmentItem{Sku: it.SKU, Quantity: int32(it.Quantity)} //nolint:gosec // the domain bounds a quantity by shipment.MaxQuantity
	}
	out := api.Shipment{Id: v.State.ID, OrderId: v.State.OrderID, CustomerId: v.State.CustomerID, Status: api.ShipmentStatus(v.State.Status), Items: items,
		Version: v.Version, CreatedAt: v.State.CreatedAt, UpdatedAt: v.State.UpdatedAt}
	if v.State.Carrier != "" {
		out.Carrier, out.TrackingNo = &v.State.Carrier, &v.State.TrackingNo
	}
	return out
}

func (h *Handlers) GetShipment(ctx context.Context, r api.GetShipmentRequestObject) (api.GetShipmentResponseObject, error) {
	var v application.ShipmentView
	var err error
	if r.Params.Version != nil || r.Params.At != nil {
		q := application.ShipmentAsOf{ShipmentID: r.Id, At: r.Params.At}
		if r.Params.Version != nil {
			q.Version = *r.Params.Version
		}
		v, err = h.app.Shipments.ShipmentAsOf.Handle(ctx, q)
	} else {
		v, err = h.app.Shipments.GetShipment.Handle(ctx, r.Id)
	}
	if err != nil {
		return nil, err
	}
	if ifNoneMatchHits(r.Params.IfNoneMatch, v.Version) {
		return api.GetShipment304Response{Headers: api.GetShipment304ResponseHeaders{ETag: etag(v.Version)}}, nil
	}
	return api.GetShipment200JSONResponse{Body: toAPIShipment(v), Headers: api.GetShipment200ResponseHeaders{ETag: etag(v.Version)}}, nil
}

func (h *Handlers) ListShipments(ctx context.Context, r api.ListShipmentsRequestObject) (api.ListShipmentsResponseObject, error) {
	q := application.ListShipments{OrderID: r.Params.OrderId}
	if r.Params.Status != nil {
		q.Status = shipment.Status(*r.Params.Status)
	}
	if r.Params.Limit != nil {
		q.Limit = *r.Params.Limit
	}
	if r.Params.Cursor != nil {
		q.Cursor = *r.Params.Cursor
	}
	page, err := h.app.Shipments.ListShipments.Handle(ctx, q)
	if err != nil {
		return nil, err
	}
	out := api.ShipmentList{Items: make([]api.Shipment, len(page.Items))}
	for i, v := range page.Items {
		out.Items[i] = toAPIShipment(v)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return api.ListShipments200JSONResponse{Body: out}, nil
}

func (h *Handlers) GetShipmentEvents(ctx context.Context, r api.GetShipmentEventsRequestObject) (api.GetShipmentEventsResponseObject, error) {
	page, err := h.app.Shipments.ShipmentHistory.Handle(ctx, historyQuery(r.Id, r.Params.After, r.Params.Limit))
	if err != nil {
		return nil, err
	}
	out, err := toAPIEvents(page)
	if err != nil {
		return nil, fmt.Errorf("shipment %s history: %w", r.Id, err)
	}
	return api.GetShipmentEvents200JSONResponse{Body: out}, nil
}
