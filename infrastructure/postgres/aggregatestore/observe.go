package aggregatestore

import "time"

// AppendObserver is told of every append statement a Store runs: the stream type, the
// number of events, how long the statement took and its error (a concurrency conflict
// included). *metrics.Metrics is one.
type AppendObserver interface {
	Appended(streamType string, events int, took time.Duration, err error)
}

// ObserveAppends makes s tell o of its appends, and returns s; call it before s is used.
func (s *Store[S, E]) ObserveAppends(o AppendObserver) *Store[S, E] {
	s.appends = o
	return s
}
