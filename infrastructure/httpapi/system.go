package httpapi

import (
	"bytes"
	"context"
	"net/http"

	"github.com/example/orders/api"
)

// Readiness says whether the service can serve: the database answers and its schema is
// migrated. It is declared here, where it is used.
type Readiness interface {
	Ready(ctx context.Context) error
}

func (h *Handlers) GetHealth(context.Context, api.GetHealthRequestObject) (api.GetHealthResponseObject, error) {
	return api.GetHealth200JSONResponse{Body: api.Health{Status: api.HealthStatusOk}}, nil
}

func (h *Handlers) GetReadiness(ctx context.Context, _ api.GetReadinessRequestObject) (api.GetReadinessResponseObject, error) {
	if err := h.ready.Ready(ctx); err != nil {
		h.log.WarnContext(ctx, "not ready", "error", err.Error())
		return nil, &requestError{status: http.StatusServiceUnavailable, code: "not_ready", title: "Not ready",
			detail: "The database cannot be reached or its migrations are not applied yet."}
	}
	return api.GetReadiness200JSONResponse{Body: api.Readiness{Status: api.ReadinessStatusReady}}, nil
}

func (h *Handlers) GetOpenAPISpec(context.Context, api.GetOpenAPISpecRequestObject) (api.GetOpenAPISpecResponseObject, error) {
	return api.GetOpenAPISpec200ApplicationyamlResponse{Body: bytes.NewReader(h.spec), ContentLength: int64(len(h.spec))}, nil
}
