package metrics

import "time"

// ObserveConsumersAt is ObserveConsumers with a clock of the test's.
func (m *Metrics) ObserveConsumersAt(src ConsumerStatsSource, now func() time.Time) {
	m.observeConsumers(src, now)
}
