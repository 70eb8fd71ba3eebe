package subscription

// StatusSQL is Statuses' statement, for the plan test.
const StatusSQL = statusSQL

// Active reports whether this instance currently owns the named consumer, for the
// takeover test.
func (r *Runtime) Active(name string) bool {
	for _, c := range r.consumers {
		if c.Name == name {
			return c.active.Load()
		}
	}
	return false
}
