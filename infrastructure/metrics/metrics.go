// Package metrics exports the service's Prometheus metrics: HTTP requests, commands,
// event-store appends, the database pool, asynchronous consumers (when there are any),
// and the Go runtime and process. Every name starts with servicename.Name + "_", so
// that `make rename` renames them too; deploy/grafana's dashboard and its test list
// them. No label ever carries an id: routes are templates, commands are names.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/servicename"
)

// Namespace is the first part of every metric name: orders_http_requests_total.
const Namespace = servicename.Name

// Metrics holds the service's collectors on a registry of its own (not the global
// one, so that tests can build as many as they like).
type Metrics struct {
	reg *prometheus.Registry

	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	commands       *prometheus.CounterVec
	attempts       *prometheus.HistogramVec
	appendDuration prometheus.Histogram
	eventsAppended *prometheus.CounterVec

	// beforeScrape runs before Handler gathers, with the scrape's context: reads that
	// take a database connection finish first, so that the pool's gauges do not count
	// the scrape's own.
	beforeScrape []func(context.Context)
}

// New returns the metrics, with the Go runtime and process collectors registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by method, route template (\"unmatched\" when no route matched) and status.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:    "Time from routing to the last byte of the answer, by method and route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "commands_total",
			Help: "Commands handled, by command and outcome (ok, rejected, conflict, replayed, error).",
		}, []string{"command", "outcome"}),
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "command_attempts",
			Help:    "Attempts (transactions) a command took; more than 1 means it lost optimistic-concurrency races.",
			Buckets: []float64{1, 2, 3, 5, 10, 20},
		}, []string{"command"}),
		appendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "eventstore_append_duration_seconds",
			Help:    "Time of one append statement to the event store (successful or not).",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		eventsAppended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "events_appended_total",
			Help: "Events written by successful append statements, by stream type (a transaction that then fails to commit is still counted).",
		}, []string{"stream_type"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.commands, m.attempts, m.appendDuration, m.eventsAppended,
	)
	return m
}

// Registry is where the metrics are registered, for a caller's own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range m.beforeScrape {
			f(r.Context())
		}
		h.ServeHTTP(w, r)
	})
}

// Appended implements aggregatestore.AppendObserver.
func (m *Metrics) Appended(streamType string, events int, took time.Duration, err error) {
	m.appendDuration.Observe(took.Seconds())
	if err == nil {
		m.eventsAppended.WithLabelValues(streamType).Add(float64(events))
	}
}

// AttemptStarted implements appkit.CommandObserver; attempts are counted when the
// command finishes.
func (m *Metrics) AttemptStarted(ctx context.Context, _, _ string, _ uuid.UUID, _ int) (context.Context, func(string)) {
	return ctx, func(string) {}
}

// CommandFinished implements appkit.CommandObserver.
func (m *Metrics) CommandFinished(command, outcome string, attempts int) {
	m.commands.WithLabelValues(command, outcome).Inc()
	m.attempts.WithLabelValues(command).Observe(float64(attempts))
}

var _ appkit.CommandObserver = (*Metrics)(nil)
