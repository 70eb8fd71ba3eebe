// Package verify holds the operators' consistency tools for the event log and the
// order_overview read model:
//
//   - Verify folds every order's stream and compares the result with its
//     order_overview and order_overview_lines rows, and checks the log's own
//     bookkeeping (versions 1..n without gaps, aggregate_heads at n). It reports each
//     difference and changes nothing.
//   - Rebuild recomputes order_overview and order_overview_lines from the events in one
//     transaction.
//
// Both read the log in keyset pages ordered by (stream_type, stream_id,
// stream_version) and handle one stream at a time, so their memory grows with the page
// size and the largest single stream, never with the number of streams or events.
// Expected rows are built from order.Fold, the same fold the command side decides on,
// plus the events' versions; the inline projection (orderstore/projection.go) must
// agree with it, and Verify is how that is checked.
package verify
