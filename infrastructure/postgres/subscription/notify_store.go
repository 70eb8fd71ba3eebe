package subscription

import (
	"context"

	"github.com/example/orders/application"
)

// NotifyMode says where a command's NOTIFY goes.
type NotifyMode int

const (
	// AfterCommit notifies through the Notifier once the command has committed (the
	// default: the append transaction holds no extra lock and does no extra work).
	AfterCommit NotifyMode = iota
	// InTransaction queues pg_notify with the command's COMMIT. PostgreSQL serialises
	// committing transactions that notified on a global lock; kept for the benchmark
	// that shows what that costs.
	InTransaction
)

// Notifying wraps a write path so that consumers hear of its commits.
func Notifying[S, E any](store application.Transactor[S, E], n *Notifier, mode NotifyMode) application.Transactor[S, E] {
	return notifying[S, E]{inner: store, n: n, mode: mode}
}

type notifying[S, E any] struct {
	inner application.Transactor[S, E]
	n     *Notifier
	mode  NotifyMode
}

type deferrer interface {
	Defer(sql string, args ...any)
}

func (s notifying[S, E]) WithinTx(ctx context.Context, fn func(context.Context, application.StreamTx[S, E]) error) error {
	if s.mode == InTransaction {
		return s.inner.WithinTx(ctx, func(ctx context.Context, tx application.StreamTx[S, E]) error {
			if err := fn(ctx, tx); err != nil {
				return err
			}
			if d, ok := tx.(deferrer); ok {
				d.Defer("SELECT pg_notify($1, '')", s.n.channel)
			}
			return nil
		})
	}
	err := s.inner.WithinTx(ctx, fn)
	if err == nil {
		s.n.Notify()
	}
	return err
}
