// Package order is the Order aggregate as a pure decider: commands come in, events come
// out, and state is a left fold of events. Nothing here does I/O or reads the clock; time
// arrives with each command. The application layer loads events, calls Decide and appends
// what it returns; this package never learns how or where events are stored.
package order
