package httpapi

import (
	"context"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

func (h *Handlers) ListConsumers(ctx context.Context, _ api.ListConsumersRequestObject) (api.ListConsumersResponseObject, error) {
	all, err := h.app.Consumers.Handle(ctx)
	if err != nil {
		return nil, err
	}
	out := api.ConsumerList{Items: make([]api.ConsumerStatus, len(all))}
	for i, s := range all {
		out.Items[i] = toConsumerStatus(s)
	}
	return api.ListConsumers200JSONResponse{Body: out}, nil
}

// toConsumerStatus names the partition's state as `orders consumers status` does, in
// the same order: a stopped partition is stopped whatever else holds, and an error
// matters more than a missing owner.
func toConsumerStatus(s application.ConsumerStatus) api.ConsumerStatus {
	c := api.ConsumerStatus{Name: s.Name, Partition: s.Partition, Partitions: s.Partitions, Position: s.Position,
		LagEvents: s.LagEvents, LagSeconds: s.LagSeconds, UpdatedAt: s.UpdatedAt, State: api.ConsumerStatusStateRunning}
	if s.Owner != "" {
		c.Owner = &s.Owner
	}
	if s.Error != "" {
		c.Error = &s.Error
	}
	if s.Error != "" || s.Stopped {
		c.ErrorPosition, c.Attempts = &s.ErrorPosition, &s.Attempts
	}
	switch {
	case s.Stopped:
		c.State = api.ConsumerStatusStateStopped
	case s.Error != "":
		c.State = api.ConsumerStatusStateFailing
	case !s.Held:
		c.State = api.ConsumerStatusStateNoOwner
	}
	return c
}
