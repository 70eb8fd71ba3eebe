package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ConsumerStat is where one asynchronous consumer of the event log stands.
type ConsumerStat struct {
	Consumer string // the consumer's name, a label: a fixed name, never an id
	Position int64  // the last global_position it has handled
	// LagEvents is how many events were appended after Position; LagSeconds is the age
	// of the oldest of them (0 when it is caught up).
	LagEvents  int64
	LagSeconds float64
	// Stopped is true when the consumer stopped at an event it cannot handle (a poison
	// event, a stream version out of order); it waits for an operator.
	Stopped bool
}

// ConsumerStatsSource is what the consumer runtime (to come) implements. ConsumerStats
// is called at every scrape and should be cheap: report what the runtime already
// knows rather than query the database.
type ConsumerStatsSource interface {
	ConsumerStats() []ConsumerStat
}

// Lag is a helper for sources: LagSeconds from the recorded_at of the oldest unhandled
// event (zero time: caught up).
func Lag(oldestUnhandled, now time.Time) float64 {
	if oldestUnhandled.IsZero() || now.Before(oldestUnhandled) {
		return 0
	}
	return now.Sub(oldestUnhandled).Seconds()
}

type consumerCollector struct {
	src                                      ConsumerStatsSource
	position, lagEvents, lagSeconds, stopped *prometheus.Desc
}

// ObserveConsumers exports orders_consumer_position, _lag_events, _lag_seconds and _stopped by
// consumer, read from src at every scrape. Without a call, none of them is exported.
func (m *Metrics) ObserveConsumers(src ConsumerStatsSource) {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "consumer", name), help, []string{"consumer"}, nil)
	}
	m.reg.MustRegister(&consumerCollector{
		src:        src,
		position:   desc("position", "The last global position of the event log the consumer has handled."),
		lagEvents:  desc("lag_events", "Events appended after the consumer's position."),
		lagSeconds: desc("lag_seconds", "Age of the oldest event the consumer has not handled yet."),
		stopped:    desc("stopped", "1 when the consumer stopped at an event it cannot handle (see `consumers status`), else 0."),
	})
}

func (c *consumerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.position
	ch <- c.lagEvents
	ch <- c.lagSeconds
	ch <- c.stopped
}

func (c *consumerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.src.ConsumerStats() {
		ch <- prometheus.MustNewConstMetric(c.position, prometheus.GaugeValue, float64(s.Position), s.Consumer)
		ch <- prometheus.MustNewConstMetric(c.lagEvents, prometheus.GaugeValue, float64(s.LagEvents), s.Consumer)
		ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, s.LagSeconds, s.Consumer)
		stopped := 0.0
		if s.Stopped {
			stopped = 1
		}
		ch <- prometheus.MustNewConstMetric(c.stopped, prometheus.GaugeValue, stopped, s.Consumer)
	}
}
