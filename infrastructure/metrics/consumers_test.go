package metrics_test

import (
	"testing"

	"github.com/example/orders/infrastructure/metrics"
)

type stats []metrics.ConsumerStat

func (s stats) ConsumerStats() []metrics.ConsumerStat { return s }

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
