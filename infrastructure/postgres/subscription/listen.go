package subscription

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Listen LISTENs on channel on a dedicated connection and calls wake for every
// notification, and once after each (re)connection, since notifications sent while it
// was away are lost. After a failure it reconnects with a doubling backoff (100 ms to
// 10 s) until ctx ends; meanwhile its users poll. The consumers' runtime and the event
// feed both wake this way. (pgxlisten does this too but has no tagged release; this is
// the part of it needed here.)
func Listen(ctx context.Context, cfg *pgx.ConnConfig, channel string, wake func(), log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, cfg, channel, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn("listener lost its connection; polling until it is back", "channel", channel, "error", errString(err), "retry_in", backoff.String())
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, channel string, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

func errString(err error) string {
	if err == nil {
		return "closed"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return err.Error()
}

// Notifier sends NOTIFY on a channel after commits, outside their transactions:
// Notify never blocks, at most one NOTIFY is in flight, and at most one is sent per
// notifyInterval; the calls in between are coalesced into the next. (Every NOTIFY is a
// statement and wakes every listener; under load one per commit cost more CPU than the
// consumers' own work.) A lost NOTIFY costs latency (consumers poll), never events.
type Notifier struct {
	pool    *pgxpool.Pool
	channel string
	kick    chan struct{}
}

// notifyInterval is the shortest time between two NOTIFYs of a Notifier: the most it
// adds to a consumer's lag.
const notifyInterval = 10 * time.Millisecond

// NewNotifier returns a Notifier on pool; Run sends.
func NewNotifier(pool *pgxpool.Pool, channel string) *Notifier {
	return &Notifier{pool: pool, channel: channel, kick: make(chan struct{}, 1)}
}

// Channel is the channel it notifies.
func (n *Notifier) Channel() string { return n.channel }

// Notify asks for one NOTIFY soon.
func (n *Notifier) Notify() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Run sends the NOTIFYs asked for until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _ = n.pool.Exec(sctx, "SELECT pg_notify($1, '')", n.channel)
		cancel()
		if !sleep(ctx, notifyInterval) {
			return
		}
	}
}
