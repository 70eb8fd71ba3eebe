package subscription

// progressed records that c's checkpoint is at position, committed, and tells
// Options.OnProgress.
func (r *Runtime) progressed(c *running, position int64) {
	c.pos.Store(position)
	if r.opts.OnProgress != nil {
		r.opts.OnProgress(c.Name, position)
	}
}
