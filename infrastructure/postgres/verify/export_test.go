package verify

// Observe reports the size of every page read and every batch of streams handed on,
// so tests can see that nothing grows beyond the page size.
func Observe(f func(what string, n int)) Option { return func(o *options) { o.observe = f } }
