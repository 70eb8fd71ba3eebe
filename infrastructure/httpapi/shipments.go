package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/domain/shipment"
)

// presentShipment is a shipment's representation and address.
func presentShipment(v application.ShipmentView) (any, string) {
	return toAPIShipment(v), shipmentPath(v.State.ID)
}

func shipmentPath(id uuid.UUID) string { return "/shipments/" + id.String() }

func (h *Handlers) CreateShipment(ctx context.Context, r api.CreateShipmentRequestObject) (api.CreateShipmentResponseObject, error) {
	body := *r.Body
	req := createParams(r.Params).request("createShipment", "/shipments", body, shipmentPath(shipment.ShipmentIDFor(body.OrderId)))
	return runCommand(ctx, req, presentShipment, func(ctx context.Context, opts application.ShipmentOptions) (application.ShipmentResult, error) {
		return h.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: body.OrderId, Options: opts})
	})
}

func (h *Handlers) DispatchShipment(ctx context.Context, r api.DispatchShipmentRequestObject) (api.DispatchShipmentResponseObject, error) {
	body := *r.Body
	req := changeParams(r.Params).request("dispatchShipment", shipmentPath(r.Id)+"/dispatch", body)
	return runCommand(ctx, req, presentShipment, func(ctx context.Context, opts application.ShipmentOptions) (application.ShipmentResult, error) {
		return h.app.Shipments.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: r.Id, Carrier: body.Carrier, TrackingNo: body.TrackingNo, Options: opts})
	})
}

func (h *Handlers) DeliverShipment(ctx context.Context, r api.DeliverShipmentRequestObject) (api.DeliverShipmentResponseObject, error) {
	req := changeParams(r.Params).request("deliverShipment", shipmentPath(r.Id)+"/deliver", nil)
	return runCommand(ctx, req, presentShipment, func(ctx context.Context, opts application.ShipmentOptions) (application.ShipmentResult, error) {
		return h.app.Shipments.DeliverShipment(ctx, application.DeliverShipment{ShipmentID: r.Id, Options: opts})
	})
}

func (h *Handlers) CancelShipment(ctx context.Context, r api.CancelShipmentRequestObject) (api.CancelShipmentResponseObject, error) {
	reason, body := cancellation(r.Body)
	req := changeParams(r.Params).request("cancelShipment", shipmentPath(r.Id)+"/cancel", body)
	return runCommand(ctx, req, presentShipment, func(ctx context.Context, opts application.ShipmentOptions) (application.ShipmentResult, error) {
		return h.app.Shipments.CancelShipment(ctx, application.CancelShipment{ShipmentID: r.Id, Reason: reason, Options: opts})
	})
}

func (h *Handlers) GetShipment(ctx context.Context, r api.GetShipmentRequestObject) (api.GetShipmentResponseObject, error) {
	return getResource(ctx, h.app.Shipments.Owned, r.Id, r.Params.Version, r.Params.At, r.Params.IfNoneMatch, presentShipment)
}

func (h *Handlers) ListShipments(ctx context.Context, r api.ListShipmentsRequestObject) (api.ListShipmentsResponseObject, error) {
	page, err := h.app.Shipments.ListShipments(ctx, application.ListShipments{OrderID: r.Params.OrderId,
		Status: shipment.Status(value(r.Params.Status)), Limit: value(r.Params.Limit), Cursor: value(r.Params.Cursor)})
	return listPage(page, err, toAPIShipment)
}

func (h *Handlers) GetShipmentEvents(ctx context.Context, r api.GetShipmentEventsRequestObject) (api.GetShipmentEventsResponseObject, error) {
	return historyPage(ctx, h.app.Shipments.Owned, r.Id, r.Params.After, r.Params.Limit)
}

// A rendered response answers every shipment operation.
func (s storedResponse) VisitCreateShipmentResponse(w http.ResponseWriter) error   { return s.write(w) }
func (s storedResponse) VisitDispatchShipmentResponse(w http.ResponseWriter) error { return s.write(w) }
func (s storedResponse) VisitDeliverShipmentResponse(w http.ResponseWriter) error  { return s.write(w) }
func (s storedResponse) VisitCancelShipmentResponse(w http.ResponseWriter) error   { return s.write(w) }
func (s storedResponse) VisitGetShipmentResponse(w http.ResponseWriter) error      { return s.write(w) }
func (s storedResponse) VisitListShipmentsResponse(w http.ResponseWriter) error    { return s.write(w) }
func (s storedResponse) VisitGetShipmentEventsResponse(w http.ResponseWriter) error {
	return s.write(w)
}

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
	out.ShipTo = toAPIShipTo(v.State.ShipTo)
	return out
}

// toAPIShipTo shows an opened address, or {"erased": true} (see toAPIContact).
func toAPIShipTo(p kit.Personal[shipment.ShipTo]) *api.ShipToOnRecord {
	if !p.IsSet() {
		return nil
	}
	s, ok := p.Value()
	if !ok {
		return &api.ShipToOnRecord{Erased: true}
	}
	return &api.ShipToOnRecord{Name: &s.Name, Address: toAPIAddress(order.Address{Line1: s.Line1, Line2: s.Line2, PostalCode: s.PostalCode, City: s.City, Country: s.Country})}
}
