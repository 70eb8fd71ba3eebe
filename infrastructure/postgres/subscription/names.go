package subscription

// Names are the names of this runtime's consumers, in the order given to New.
func (r *Runtime) Names() []string {
	names := make([]string, len(r.consumers))
	for i, c := range r.consumers {
		names[i] = c.Name
	}
	return names
}
