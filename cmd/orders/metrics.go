package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serveMetrics serves GET /metrics on ln (METRICS_ADDR), for a scraper that should not
// reach the API's port; the main listener serves it too.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("metrics", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Warn("metrics listener stopped", "error", err.Error())
	}
}
