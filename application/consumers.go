package application

import (
	"context"
	"time"

	"github.com/example/orders/application/appkit"
)

// ConsumerStatus is one partition of an asynchronous consumer (a read model or a
// reactor) as its checkpoint says: how far it got and how far behind it is.
type ConsumerStatus struct {
	Name          string
	Partition     int
	Partitions    int
	Position      int64   // every event of the partition at or below it is handled
	LagEvents     int64   // positions in the log after Position
	LagSeconds    float64 // age of the oldest event after Position; 0 when none
	UpdatedAt     time.Time
	Owner         string // the instance holding (or last holding) the lease; "" when none ever did
	Held          bool   // an instance holds the lease now
	Error         string // the last attempt's error; "" when it succeeded
	ErrorPosition int64
	Attempts      int
	Stopped       bool // it gave up on the event at ErrorPosition
}

// ConsumerStatuses reads every consumer's partitions, by name and partition.
type ConsumerStatuses interface {
	ConsumerStatuses(ctx context.Context) ([]ConsumerStatus, error)
}

// ListConsumersHandler shows the consumers' progress to staff: it names the service's
// internals and their errors, which are no customer's business.
type ListConsumersHandler struct{ r ConsumerStatuses }

func NewListConsumersHandler(r ConsumerStatuses) *ListConsumersHandler {
	return &ListConsumersHandler{r: r}
}

// Handle returns every consumer partition, or appkit.ErrForbidden for a caller that
// is not staff.
func (h *ListConsumersHandler) Handle(ctx context.Context) ([]ConsumerStatus, error) {
	if err := appkit.RequireStaff(ctx); err != nil {
		return nil, err
	}
	return h.r.ConsumerStatuses(ctx)
}
