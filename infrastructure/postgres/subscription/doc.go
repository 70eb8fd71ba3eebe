// Package subscription runs asynchronous consumers of the event log: read models
// that are not updated in the command's transaction (projections) and process
// managers that react to events with further commands (reactors).
//
// Each consumer has a checkpoint row in consumer_checkpoints: a cursor, the last event
// it handled as (transaction id, position). It reads the log in batches in that order,
// only below pg_snapshot_xmin (readAfter), so an event whose transaction took a low
// position and committed late is not skipped; position order alone can skip one (see
// readAfter). Read models report a watermark (WatermarkSQL): every event at or below
// it has been handled.
//
//   - A projection applies a batch and moves its checkpoint in one transaction: every
//     event takes effect exactly once, even across crashes and takeovers.
//   - A reactor handles each event and then moves its checkpoint: at least once, so its
//     effects must be idempotent by the triggering event's id.
//
// Across replicas one instance of each consumer is active: it holds a session advisory
// lock (pg_try_advisory_lock on a hash of the name) on a dedicated connection, and it
// reads and writes on that same connection, so losing the connection loses the lock
// and the work together. The checkpoint is moved only WHERE owner is this instance,
// which fences a former owner that has not noticed yet. Standbys try the lock every
// LockRetry (1 s), so a killed owner is replaced within a few seconds.
//
// An event that keeps failing (not an outage: those are retried for as long as they
// last) is retried MaxAttempts times with backoff, then the consumer stops at it with
// the error recorded; `orders consumers skip NAME` or `reset` resumes it. Nothing is
// skipped silently.
//
// Wake-ups come by LISTEN/NOTIFY: the Notifier sends one NOTIFY after a command has
// committed (coalesced, at most one in flight), and PollInterval is the fallback.
package subscription
