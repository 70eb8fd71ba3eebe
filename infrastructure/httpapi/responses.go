package httpapi

import (
	"net/http"

	"github.com/example/orders/application"
)

// storedResponse sends a response kept for an idempotency key exactly as it was first
// rendered. It satisfies the generated response interface of every command.
type storedResponse struct {
	resp     application.StoredResponse
	replayed bool
}

func (s storedResponse) write(w http.ResponseWriter) error {
	for k, v := range s.resp.Headers {
		w.Header().Set(k, v)
	}
	if s.resp.ContentType != "" {
		w.Header().Set("Content-Type", s.resp.ContentType)
	}
	if s.replayed {
		w.Header().Set("Idempotency-Replayed", "true")
	}
	w.WriteHeader(s.resp.Status)
	_, err := w.Write(s.resp.Body)
	return err
}

func (s storedResponse) VisitPlaceOrderResponse(w http.ResponseWriter) error       { return s.write(w) }
func (s storedResponse) VisitAddOrderLineResponse(w http.ResponseWriter) error     { return s.write(w) }
func (s storedResponse) VisitConfirmOrderResponse(w http.ResponseWriter) error     { return s.write(w) }
func (s storedResponse) VisitCancelOrderResponse(w http.ResponseWriter) error      { return s.write(w) }
func (s storedResponse) VisitCreateShipmentResponse(w http.ResponseWriter) error   { return s.write(w) }
func (s storedResponse) VisitDispatchShipmentResponse(w http.ResponseWriter) error { return s.write(w) }
func (s storedResponse) VisitDeliverShipmentResponse(w http.ResponseWriter) error  { return s.write(w) }
func (s storedResponse) VisitCancelShipmentResponse(w http.ResponseWriter) error   { return s.write(w) }
