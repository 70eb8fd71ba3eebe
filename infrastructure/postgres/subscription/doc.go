// Package subscription runs asynchronous consumers of the event log: read models
// that are not updated in the command's transaction (projections) and process
// managers that react to events with further commands (reactors).
//
// Each consumer has a checkpoint row in consumer_checkpoints: the position of the last
// event it handled; every event at or below it has been handled. It reads the log in
// position order in batches, never past the horizon (eventstore.Horizon, the feed's
// reader), below which no event can still commit: so it never passes an event that
// commits late, and it sees each stream's events in version order, since an append
// draws its positions only while it holds the stream's head row. It checks that order
// as it goes (streamOrder): an event that is not its stream's next version stops the
// consumer with an OrderError instead of being applied.
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
