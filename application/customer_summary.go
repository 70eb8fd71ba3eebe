package application

import (
	"context"
	"time"

	"github.com/example/orders/application/appkit"
)

// CustomerSummary is one customer's orders at a glance, from the asynchronous
// customer_summary read model. Confirmed counts orders confirmed and not cancelled
// since; ConfirmedTotals sums their totals per currency.
type CustomerSummary struct {
	CustomerID      string
	OrdersPlaced    int64
	OrdersConfirmed int64
	OrdersCancelled int64
	ConfirmedTotals map[string]int64 // currency -> cents
}

// CustomerSummaries reads the customer_summary read model.
type CustomerSummaries interface {
	// Position is the global log position the read model reflects.
	Position(ctx context.Context) (int64, error)
	// CustomerSummary returns the summary and the position it reflects.
	CustomerSummary(ctx context.Context, customerID string) (CustomerSummary, int64, error)
}

// GetCustomerSummaryHandler reads a customer's summary, waiting first, when asked,
// until the read model has passed a position (the X-Event-Position of a command).
type GetCustomerSummaryHandler struct {
	r     CustomerSummaries
	watch *appkit.PositionWatch
}

func NewGetCustomerSummaryHandler(r CustomerSummaries) *GetCustomerSummaryHandler {
	return &GetCustomerSummaryHandler{r: r, watch: appkit.NewPositionWatch(r.Position)}
}

// Progressed wakes the waiting reads: the read model's consumer has moved in this
// process (subscription.Options.OnProgress).
func (h *GetCustomerSummaryHandler) Progressed() { h.watch.Progressed() }

// answerReserve is the time a wait leaves, of the context's, for reading the summary.
const answerReserve = 250 * time.Millisecond

// Handle returns the summary and the position it reflects. With minPosition > 0 it
// waits up to wait for the read model to reach it, else returns a *appkit.BehindError. A wait
// beyond ctx's deadline is cut short, keeping time to answer: running out of it is
// the read model being behind, not the database being unreachable.
func (h *GetCustomerSummaryHandler) Handle(ctx context.Context, customerID string, minPosition int64, wait time.Duration) (CustomerSummary, int64, error) {
	if _, err := appkit.Caller(ctx); err != nil {
		return CustomerSummary{}, 0, err
	}
	if !appkit.CanSeeCustomer(ctx, customerID) { // staff, or the customer itself
		return CustomerSummary{}, 0, appkit.ErrForbidden
	}
	if minPosition > 0 {
		if deadline, ok := ctx.Deadline(); ok {
			left := time.Until(deadline)
			wait = min(wait, left-min(answerReserve, left/2))
		}
		if err := h.watch.Wait(ctx, minPosition, wait); err != nil {
			return CustomerSummary{}, 0, err
		}
	}
	return h.r.CustomerSummary(ctx, customerID)
}
