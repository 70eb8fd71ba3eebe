package metrics

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// AcquireCounter counts the pool's Acquire calls in progress: those waiting for a
// connection, since one that finds an idle connection is done in microseconds.
// pgxpool.Stat has no such number; give the counter to the pool as (part of) its
// ConnConfig.Tracer, which pgxpool calls around every Acquire.
type AcquireCounter struct{ inFlight atomic.Int64 }

func (a *AcquireCounter) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	a.inFlight.Add(1)
	return ctx
}

func (a *AcquireCounter) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {
	a.inFlight.Add(-1)
}

// TraceQueryStart and TraceQueryEnd do nothing; they make AcquireCounter a
// pgx.QueryTracer, the type ConnConfig.Tracer takes.
func (a *AcquireCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (a *AcquireCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Waiting returns the Acquire calls in progress.
func (a *AcquireCounter) Waiting() int64 {
	if a == nil {
		return 0
	}
	return a.inFlight.Load()
}

// poolCollector reads pgxpool.Stat at every scrape.
type poolCollector struct {
	pool                           *pgxpool.Pool
	waiting                        *AcquireCounter
	acquired, idle, total, waiters *prometheus.Desc
}

// ObservePool exports the pool's acquired, idle and total connections and, when
// waiting is the AcquireCounter installed on the pool, its waiting acquires.
func (m *Metrics) ObservePool(pool *pgxpool.Pool, waiting *AcquireCounter) {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "db_pool", name), help, nil, nil)
	}
	m.reg.MustRegister(&poolCollector{
		pool: pool, waiting: waiting,
		acquired: desc("acquired_conns", "Connections in use."),
		idle:     desc("idle_conns", "Connections open and idle."),
		total:    desc("total_conns", "Connections open (in use, idle or being opened)."),
		waiters:  desc("waiting_acquires", "Requests for a connection in progress; above zero for long means the pool is too small."),
	})
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.acquired
	ch <- p.idle
	ch <- p.total
	ch <- p.waiters
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	ch <- prometheus.MustNewConstMetric(p.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(p.idle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(p.total, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(p.waiters, prometheus.GaugeValue, float64(p.waiting.Waiting()))
}
