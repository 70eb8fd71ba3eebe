package subscription

// progressed records that w's checkpoint is at position, committed, and tells
// Options.OnProgress (with the partition's position: a reader of the consumer's
// watermark reads it again).
func (r *Runtime) progressed(c *running, w *worker, position int64) {
	w.pos.Store(position)
	if r.opts.OnProgress != nil {
		r.opts.OnProgress(c.Name, position)
	}
}
