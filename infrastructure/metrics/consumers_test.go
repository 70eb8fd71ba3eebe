package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/example/orders/infrastructure/metrics"
)

type stats []metrics.ConsumerStat

func (s stats) ConsumerStats(context.Context) ([]metrics.ConsumerStat, error) { return s, nil }

// source answers what the test sets, and counts its reads.
type source struct {
	mu       sync.Mutex
	stats    []metrics.ConsumerStat
	err      error
	reads    int
	deadline time.Duration // of the last read's context, from its start
}

func (s *source) ConsumerStats(ctx context.Context) ([]metrics.ConsumerStat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if d, ok := ctx.Deadline(); ok {
		s.deadline = time.Until(d)
	}
	return s.stats, s.err
}

func (s *source) set(stats []metrics.ConsumerStat, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats, s.err = stats, err
}

// scrape returns the value of every orders_consumer_* series, by name and consumer.
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range metric.GetLabel() {
				name += "{" + l.GetValue() + "}"
			}
			switch {
			case metric.GetGauge() != nil:
				out[name] = metric.GetGauge().GetValue()
			case metric.GetCounter() != nil:
				out[name] = metric.GetCounter().GetValue()
			}
		}
	}
	return out
}

// The gauges are read when scraped: the first scrape has them, and a later one has
// the numbers of that moment, not of the scrape before (issue 19).
func TestConsumerGaugesAreCurrent(t *testing.T) {
	now := time.Unix(1000, 0)
	src := &source{stats: []metrics.ConsumerStat{{Consumer: "c", Position: 7, LagEvents: 3}}}
	m := metrics.New()
	m.ObserveConsumersAt(src, func() time.Time { return now })
	got := scrape(t, m)
	if got["orders_consumer_position{c}{0}"] != 7 || got["orders_consumer_lag_events{c}{0}"] != 3 || got["orders_consumer_stats_age_seconds"] != 0 {
		t.Fatalf("first scrape: %v", got)
	}
	if src.deadline <= 0 || src.deadline > metrics.ConsumerStatsTimeout {
		t.Errorf("the read's context ends in %v, want at most %v", src.deadline, metrics.ConsumerStatsTimeout)
	}
	src.set([]metrics.ConsumerStat{{Consumer: "c", Position: 9}}, nil)
	// Within ConsumerStatsReuse a scrape answers the same read: /metrics is open, and
	// each scrape must not cost a query.
	now = now.Add(metrics.ConsumerStatsReuse / 2)
	if got := scrape(t, m); got["orders_consumer_position{c}{0}"] != 7 || src.reads != 1 {
		t.Errorf("scrape within %v: position %v after %d reads, want 7 after 1", metrics.ConsumerStatsReuse, got["orders_consumer_position{c}{0}"], src.reads)
	}
	now = now.Add(metrics.ConsumerStatsReuse)
	if got := scrape(t, m); got["orders_consumer_position{c}{0}"] != 9 || got["orders_consumer_lag_events{c}{0}"] != 0 {
		t.Errorf("next scrape: %v", got)
	}
}

// When the read fails the gauges are absent rather than stale, the failure is counted
// and the age of the last good read grows; the next good read restores them.
func TestConsumerGaugesAreNeverSilentlyStale(t *testing.T) {
	now := time.Unix(1000, 0)
	src := &source{stats: []metrics.ConsumerStat{{Consumer: "c", Position: 7, LagEvents: 3, LagSeconds: 2}}}
	m := metrics.New()
	m.ObserveConsumersAt(src, func() time.Time { return now })
	scrape(t, m)
	src.set(nil, errors.New("connection refused"))
	now = now.Add(30 * time.Second)
	got := scrape(t, m)
	for _, gone := range []string{"orders_consumer_position{c}{0}", "orders_consumer_lag_events{c}{0}", "orders_consumer_lag_seconds{c}{0}", "orders_consumer_stopped{c}{0}"} {
		if v, ok := got[gone]; ok {
			t.Errorf("after a failed read, %s = %v: a stale value", gone, v)
		}
	}
	if got["orders_consumer_stats_errors_total"] != 1 || got["orders_consumer_stats_age_seconds"] != 30 {
		t.Errorf("after a failed read: errors %v, age %v; want 1 and 30", got["orders_consumer_stats_errors_total"], got["orders_consumer_stats_age_seconds"])
	}
	src.set([]metrics.ConsumerStat{{Consumer: "c", Position: 12}}, nil)
	now = now.Add(metrics.ConsumerStatsReuse)
	got = scrape(t, m)
	if got["orders_consumer_position{c}{0}"] != 12 || got["orders_consumer_stats_age_seconds"] != 0 || got["orders_consumer_stats_errors_total"] != 1 {
		t.Errorf("after a good read again: %v", got)
	}
}

// Before any read has succeeded the age counts from the start, not from 1970.
func TestConsumerStatsAgeBeforeAnyRead(t *testing.T) {
	now := time.Unix(1000, 0)
	src := &source{err: context.DeadlineExceeded}
	m := metrics.New()
	m.ObserveConsumersAt(src, func() time.Time { return now })
	now = now.Add(5 * time.Second)
	if got := scrape(t, m); got["orders_consumer_stats_age_seconds"] != 5 || got["orders_consumer_stats_errors_total"] != 1 {
		t.Errorf("first scrape, read failing: %v", got)
	}
}

// A consumer stopped at an event it cannot handle shows as orders_consumer_stopped 1,
// so that an alert can fire while its lag alone might still look small.
func TestStoppedConsumerIsExported(t *testing.T) {
	m := metrics.New()
	m.ObserveConsumers(stats{
		{Consumer: "healthy", Position: 10},
		{Consumer: "stuck", Position: 4, LagEvents: 6, LagSeconds: 1.5, Stopped: true},
	})
	for consumer, want := range map[string]float64{"healthy": 0, "stuck": 1} {
		mfs, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			if mf.GetName() != "orders_consumer_stopped" {
				continue
			}
			for _, metric := range mf.GetMetric() {
				if metric.GetLabel()[0].GetValue() == consumer {
					found = true
					if v := metric.GetGauge().GetValue(); v != want {
						t.Fatalf("%s: orders_consumer_stopped = %v, want %v", consumer, v, want)
					}
				}
			}
		}
		if !found {
			t.Fatalf("no orders_consumer_stopped for %s", consumer)
		}
	}
}

// A scrape that goes away during the read neither counts an error nor leaves its
// failure for the next scrape: a client could otherwise keep the gauges away.
func TestAbandonedScrapeLeavesNoFailure(t *testing.T) {
	m := metrics.New()
	m.ObserveConsumers(contextual{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil).WithContext(ctx))
	got := scrape(t, m)
	if got["orders_consumer_stats_errors_total"] != 0 || got["orders_consumer_position{c}{0}"] != 3 {
		t.Errorf("after an abandoned scrape: %v", got)
	}
}

// contextual fails when its context has ended, as a query would.
type contextual struct{}

func (contextual) ConsumerStats(ctx context.Context) ([]metrics.ConsumerStat, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []metrics.ConsumerStat{{Consumer: "c", Position: 3}}, nil
}
