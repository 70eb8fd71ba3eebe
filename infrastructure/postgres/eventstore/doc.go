// Package eventstore is an append-only event store on PostgreSQL with optimistic
// concurrency. It knows streams, versions and opaque JSON payloads; it does not know
// what an order is. The caller owns the transaction: Append runs inside whatever
// transaction it is given, so that a read model updated in the same transaction commits
// or rolls back together with the events.
package eventstore
