-- Consumers read the log in (transaction_id, global_position) order: every transaction
-- below pg_snapshot_xmin has ended, so nothing can still appear before what they read.
-- (By position alone it can: a transaction that took its id early may take a higher
-- position than one with a later id that is still running.) Built CONCURRENTLY so that
-- appends go on while it builds.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_transaction_position ON events (transaction_id, global_position);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS events_transaction_position;
