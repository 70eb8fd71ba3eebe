package httpapi

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/application/appkit"
)

// eventPositionHeader carries, on every command response, the global position of the
// aggregate's last event: what a read of an asynchronous read model may wait for.
const eventPositionHeader = "X-Event-Position"

// Waiting for an asynchronous read model: by default and at most.
const (
	defaultReadModelWait = 2 * time.Second
	maxReadModelWait     = 10 * time.Second
)

func (h *Handlers) GetCustomerSummary(ctx context.Context, r api.GetCustomerSummaryRequestObject) (api.GetCustomerSummaryResponseObject, error) {
	q := h.app.CustomerSummary
	if q == nil {
		return nil, fmt.Errorf("customer summary read model not wired: %w", appkit.ErrUnavailable)
	}
	wait := defaultReadModelWait
	if r.Params.Wait != nil {
		d, err := time.ParseDuration(*r.Params.Wait)
		if err != nil || d < 0 || d > maxReadModelWait {
			return nil, badRequest("wait must be a duration between 0s and 10s, e.g. 2s.",
				api.FieldError{Field: "wait", Message: "must be a duration of at most 10s, e.g. 500ms or 2s"})
		}
		wait = d
	}
	var minPosition int64
	if r.Params.MinPosition != nil {
		minPosition = *r.Params.MinPosition
	}
	sum, pos, err := q.Handle(ctx, r.Id, minPosition, wait)
	if err != nil {
		return nil, err
	}
	totals := map[string]int64{}
	for c, v := range sum.ConfirmedTotals {
		totals[c] = v
	}
	return api.GetCustomerSummary200JSONResponse{
		Body: api.CustomerSummary{CustomerId: r.Id, OrdersPlaced: sum.OrdersPlaced, OrdersConfirmed: sum.OrdersConfirmed,
			OrdersCancelled: sum.OrdersCancelled, ConfirmedTotals: totals},
		Headers: api.GetCustomerSummary200ResponseHeaders{XReadModelPosition: strconv.FormatInt(pos, 10)},
	}, nil
}
