package httpapi

import (
	"net/http"

	"github.com/example/orders/application"
)

// storedResponse sends a response kept for an idempotency key exactly as it was first
// rendered. Each aggregate's command file declares its Visit<Op>Response methods, so
// that it satisfies the generated response interface of every command.
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
