package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// runServe serves HTTP until ctx ends (SIGTERM/SIGINT), then stops accepting, lets
// in-flight requests finish within the shutdown timeout and closes the pool.
// serveGCPercent is the garbage collector's target for serve unless GOGC is set. The
// live heap is small (tens of MiB), and at Go's default of 100 collection took ~10 %
// of a command's CPU; at 400 it took ~5 %, for a peak of ~45 MiB resident in the
// benchmark (docs/benchmarks.md). GOMEMLIMIT, which deploy/kubernetes sets to 90 %
// of the container's limit, still makes it collect harder near the limit.
const serveGCPercent = 400

func runServe(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.MigrateOnStart {
		if err := runMigrate(ctx, cfg, "up", logWriter{log}, log); err != nil {
			return err
		}
	}
	svc, cleanup, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer cleanup()

	srv := &http.Server{
		Handler:           svc.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.RequestTimeout + 5*time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", cfg.ListenAddr, err)
	}
	log.Info("serving", "addr", ln.Addr().String())

	go expireIdempotencyKeys(ctx, svc, log)
	go svc.feed.Run(ctx)
	// The consumers and the notifier stop with ctx (SIGTERM): a consumer finishes or
	// rolls back the batch in hand; they are waited for before the pool closes.
	var background sync.WaitGroup
	defer background.Wait()
	background.Go(func() { svc.notifier.Run(ctx) })
	if svc.consumers != nil {
		background.Go(func() { svc.consumers.Run(ctx) })
	}
	if cfg.PprofAddr != "" {
		go servePprof(ctx, cfg.PprofAddr, log)
	}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("serve: metrics: listen on %s: %w", cfg.MetricsAddr, err)
		}
		go serveMetrics(ctx, mln, svc.metricsHandler, log)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout) // ctx is done: the grace period is a new deadline
	defer cancel()
	svc.stopStreams() // event streams end now; Shutdown then waits only for ordinary requests
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// expireIdempotencyKeys deletes expired idempotency records every few minutes.
func expireIdempotencyKeys(ctx context.Context, svc *service, log *slog.Logger) {
	tick := time.NewTicker(5 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n, err := aggregatestore.DeleteExpiredIdempotencyKeys(ctx, svc.pool)
			if err != nil {
				log.Warn("expire idempotency keys", "error", err.Error())
			} else if n > 0 {
				log.Info("expired idempotency keys", "count", n)
			}
		}
	}
}

// logWriter sends migrate's progress lines to the log when serve runs them.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
