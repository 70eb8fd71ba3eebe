package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serveMetrics serves h (service.metricsHandler: GET /metrics) on ln (METRICS_ADDR), so
// that the scraper reaches the metrics on a port the API's clients do not; the main
// listener then does not serve them.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("metrics", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Warn("metrics listener stopped", "error", err.Error())
	}
}
