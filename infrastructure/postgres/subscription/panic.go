package subscription

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a projection's or a reactor's panic on an event, turned into that
// event's failure: like an error, it is retried and stops the consumer at the event
// after MaxAttempts. Left to unwind, it would take the process down, and every replica
// would then crash on the same event, with the service that runs the consumer. A
// consumer's Setup and CaughtUp hooks are recovered the same way: their panic is their
// error.
type PanicError struct {
	Value any
	Stack []byte // where it panicked; logged with the failure, not stored
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// recovered runs f, and returns its panic as a *PanicError.
func recovered(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}
