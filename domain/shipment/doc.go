// Package shipment is the Shipment aggregate as a pure decider, built only from the
// kit: a confirmed order's lines are shipped once (pending), handed to a carrier
// (dispatched) and delivered, or cancelled before dispatch. Nothing here does I/O or
// reads the clock; time arrives with each command.
package shipment
