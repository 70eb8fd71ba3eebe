package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
	"github.com/example/orders/domain/shipment"
)

// presentShipment is a shipment's representation and address.
func presentShipment(v application.ShipmentView) (any, string) {
	return toAPIShipment(v), shipmentPath(v.State.ID)
}

func shipmentPath(id uuid.UUID) string { return "/shipments/" + id.String() }

func (h *Handlers) CreateShipment(ctx context.Context, r api.CreateShipmentRequestObject) (api.CreateShipmentResponseObject, error) {
	body := *r.Body
	req := commandRequest{operation: "createShipment", path: "/shipments", idempotencyKey: r.Params.IdempotencyKey,
		correlationID: r.Params.XCorrelationID, body: body, successStatus: http.StatusCreated, location: true,
		existing: shipmentPath(shipment.ShipmentIDFor(body.OrderId))}
	return runCommand(ctx, req, presentShipment, func(ctx context.Context, opts application.ShipmentOptions) (application.ShipmentResult, error) {
		return h.app.Shipments.CreateShipment(ctx, application.CreateShipment{OrderID: body.OrderId, Options: opts})
	})
}

func (h *Handlers) DispatchShipment(ctx context.Context, r api.DispatchShipmentRequestObject) (api.DispatchShipmentResponseObject, error) {
	body := *r.Body
	req := commandRequest{operation: "dispatchShipment", path: shipmentPath(r.Id) + "/dispatch",
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		body: body, successStatus: http.StatusOK}
	return runCommand(ctx, req, presentShipment, func(ctx context.Context, opts application.ShipmentOptions) (application.ShipmentResult, error) {
		return h.app.Shipments.DispatchShipment(ctx, application.DispatchShipment{ShipmentID: r.Id, Carrier: body.Carrier, TrackingNo: body.TrackingNo, Options: opts})
	})
}

func (h *Handlers) DeliverShipment(ctx context.Context, r api.DeliverShipmentRequestObject) (api.DeliverShipmentResponseObject, error) {
	req := commandRequest{operation: "deliverShipment", path: shipmentPath(r.Id) + "/deliver",
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		successStatus: http.StatusOK}
	return runCommand(ctx, req, presentShipment, func(ctx context.Context, opts application.ShipmentOptions) (application.ShipmentResult, error) {
		return h.app.Shipments.DeliverShipment(ctx, application.DeliverShipment{ShipmentID: r.Id, Options: opts})
	})
}

func (h *Handlers) CancelShipment(ctx context.Context, r api.CancelShipmentRequestObject) (api.CancelShipmentResponseObject, error) {
	reason := ""
	if r.Body != nil && r.Body.Reason != nil {
		reason = *r.Body.Reason
	}
	req := commandRequest{operation: "cancelShipment", path: shipmentPath(r.Id) + "/cancel",
		ifMatch: r.Params.IfMatch, idempotencyKey: r.Params.IdempotencyKey, correlationID: r.Params.XCorrelationID,
		body: api.CancelRequest{Reason: &reason}, successStatus: http.StatusOK}
	return runCommand(ctx, req, presentShipment, func(ctx context.Context, opts application.ShipmentOptions) (application.ShipmentResult, error) {
		return h.app.Shipments.CancelShipment(ctx, application.CancelShipment{ShipmentID: r.Id, Reason: reason, Options: opts})
	})
}

// A stored response answers every shipment command.
func (s storedResponse) VisitCreateShipmentResponse(w http.ResponseWriter) error   { return s.write(w) }
func (s storedResponse) VisitDispatchShipmentResponse(w http.ResponseWriter) error { return s.write(w) }
func (s storedResponse) VisitDeliverShipmentResponse(w http.ResponseWriter) error  { return s.write(w) }
func (s storedResponse) VisitCancelShipmentResponse(w http.ResponseWriter) error   { return s.write(w) }
