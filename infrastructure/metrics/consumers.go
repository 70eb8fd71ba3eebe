package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ConsumerStat is where one asynchronous consumer of the event log stands.
type ConsumerStat struct {
	Consumer string // the consumer's name, a label: a fixed name, never an id
	// Partition is the partition's number, a label bounded by the consumer's partitions
	// ("0" for a consumer that is not partitioned).
	Partition string
	Position  int64 // the last global_position the partition has handled
	// LagEvents is how many events were appended after Position; LagSeconds is the age
	// of the oldest of them (0 when it is caught up).
	LagEvents  int64
	LagSeconds float64
	// Stopped is true when the consumer stopped at an event it cannot handle (a poison
	// event, a stream version out of order); it waits for an operator.
	Stopped bool
}

// ConsumerStatsSource reads where the consumers stand, for a scrape (ctx carries
// ConsumerStatsTimeout). subscription.Runtime.Stats is one query.
type ConsumerStatsSource interface {
	ConsumerStats(ctx context.Context) ([]ConsumerStat, error)
}

// ConsumerStatsTimeout bounds the read of a scrape, well inside Prometheus' default
// scrape timeout (10 s); ConsumerStatsReuse is how long one read answers further
// scrapes, so that hammering the (unauthenticated) /metrics costs at most one query
// per second.
const (
	ConsumerStatsTimeout = 2 * time.Second
	ConsumerStatsReuse   = time.Second
)

// consumerCollector reads the stats when scraped rather than in the background: a
// background refresh answered the first scrape with nothing and every later one with
// the previous read, and, when the read failed, kept the old numbers, so a lag alert
// stayed quiet while the lag was unknown. A failed read now exports no position, lag
// or stopped gauge (a number it does not know), counts the failure in
// orders_consumer_stats_errors_total and lets orders_consumer_stats_age_seconds grow:
// an alert on that age fires whatever the cause.
type consumerCollector struct {
	src                                      ConsumerStatsSource
	position, lagEvents, lagSeconds, stopped *prometheus.Desc
	age                                      *prometheus.Desc
	errors                                   prometheus.Counter
	now                                      func() time.Time

	mu        sync.Mutex // held during a read: concurrent scrapes share it
	stats     []ConsumerStat
	err       error
	attempted time.Time // the last read, failed or not
	succeeded time.Time // the last successful read (at first: when the collector was made)
}

// ObserveConsumers exports orders_consumer_position, _lag_events, _lag_seconds and _stopped by
// consumer and partition, read from src when scraped, and orders_consumer_stats_age_seconds and
// orders_consumer_stats_errors_total. Without a call, none of them is exported.
func (m *Metrics) ObserveConsumers(src ConsumerStatsSource) {
	m.observeConsumers(src, time.Now)
}

func (m *Metrics) observeConsumers(src ConsumerStatsSource, now func() time.Time) {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "consumer", name), help, labels, nil)
	}
	c := &consumerCollector{
		src:        src,
		position:   desc("position", "The last global position of the event log the consumer has handled.", "consumer", "partition"),
		lagEvents:  desc("lag_events", "Events appended after the consumer partition's position.", "consumer", "partition"),
		lagSeconds: desc("lag_seconds", "Age of the oldest event the consumer partition has not handled yet.", "consumer", "partition"),
		stopped:    desc("stopped", "1 when the consumer stopped at an event it cannot handle (see `consumers status`), else 0.", "consumer", "partition"),
		age: desc("stats_age_seconds", "Seconds since the consumer gauges were last read from the database; "+
			"it grows while the reads fail, and the gauges are then absent."),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "consumer", Name: "stats_errors_total",
			Help: "Reads of the consumer gauges that failed or timed out."}),
		now:       now,
		succeeded: now(),
	}
	m.reg.MustRegister(c)
	m.beforeScrape = append(m.beforeScrape, func(ctx context.Context) { _, _, _ = c.read(ctx) })
}

func (c *consumerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.position
	ch <- c.lagEvents
	ch <- c.lagSeconds
	ch <- c.stopped
	ch <- c.age
	c.errors.Describe(ch)
}

func (c *consumerCollector) Collect(ch chan<- prometheus.Metric) {
	stats, age, err := c.read(context.Background()) // a Collect has no context; Handler has read already
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age.Seconds())
	ch <- c.errors
	if err != nil {
		return
	}
	for _, s := range stats {
		part := s.Partition
		if part == "" {
			part = "0"
		}
		ch <- prometheus.MustNewConstMetric(c.position, prometheus.GaugeValue, float64(s.Position), s.Consumer, part)
		ch <- prometheus.MustNewConstMetric(c.lagEvents, prometheus.GaugeValue, float64(s.LagEvents), s.Consumer, part)
		ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, s.LagSeconds, s.Consumer, part)
		stopped := 0.0
		if s.Stopped {
			stopped = 1
		}
		ch <- prometheus.MustNewConstMetric(c.stopped, prometheus.GaugeValue, stopped, s.Consumer, part)
	}
}

// read returns the stats of a read at most ConsumerStatsReuse old (reading them now
// if needed, within ctx and ConsumerStatsTimeout), and the age of the last successful
// read.
func (c *consumerCollector) read(ctx context.Context) ([]ConsumerStat, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.attempted.IsZero() || c.now().Sub(c.attempted) >= ConsumerStatsReuse {
		readCtx, cancel := context.WithTimeout(ctx, ConsumerStatsTimeout)
		stats, err := c.src.ConsumerStats(readCtx)
		cancel()
		if err != nil && ctx.Err() != nil {
			// The scrape went away: its failure says nothing of the database, and must
			// not answer the next scrapes (a client could keep the gauges away).
			return nil, max(c.now().Sub(c.succeeded), 0), err
		}
		c.attempted = c.now()
		c.stats, c.err = stats, err
		if err != nil {
			c.errors.Inc()
		} else {
			c.succeeded = c.attempted
		}
	}
	return c.stats, max(c.now().Sub(c.succeeded), 0), c.err
}
