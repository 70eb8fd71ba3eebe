package subscription

import (
	"context"

	"github.com/example/orders/application"
	"github.com/example/orders/infrastructure/postgres/eventstore"
)

// StatusReader is application.ConsumerStatuses over the checkpoints: what
// `orders consumers status` prints, for GET /consumers.
type StatusReader struct{ db eventstore.DBTX }

func NewStatusReader(db eventstore.DBTX) StatusReader { return StatusReader{db: db} }

func (r StatusReader) ConsumerStatuses(ctx context.Context) ([]application.ConsumerStatus, error) {
	all, err := Statuses(ctx, r.db)
	if err != nil {
		return nil, err
	}
	out := make([]application.ConsumerStatus, len(all))
	for i, s := range all {
		out[i] = application.ConsumerStatus{Name: s.Name, Partition: s.Partition, Partitions: s.Partitions, Position: s.Position,
			LagEvents: s.LagEvents, LagSeconds: s.LagSeconds, UpdatedAt: s.UpdatedAt, Owner: s.Owner, Held: s.Held,
			Error: s.Error, ErrorPosition: s.ErrorPosition, Attempts: s.Attempts, Stopped: s.Stopped}
	}
	return out, nil
}
