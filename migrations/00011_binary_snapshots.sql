-- Snapshots hold the bytes of the aggregate's state codec, not JSON: orders now write a
-- compact binary layout (orderstore/state_codec.go), which reads back a 10,000-line
-- order many times faster than JSON, and PostgreSQL no longer parses every snapshot as
-- jsonb on the way in and prints it on the way out. Existing rows are kept as the bytes
-- of their JSON; their state_schema_version no longer matches, so they are ignored and
-- replaced as the streams are used.
--
-- STORAGE EXTERNAL keeps a large snapshot out of line but uncompressed: it is read on a
-- cold command's path, where pglz's decompression of a 10,000-line order (140 KiB,
-- 34 KiB compressed) cost more time than the smaller read saved.

-- +goose Up
ALTER TABLE snapshots ALTER COLUMN state TYPE bytea USING convert_to(state::text, 'UTF8');
ALTER TABLE snapshots ALTER COLUMN state SET STORAGE EXTERNAL;

-- +goose Down
-- A binary snapshot is not JSON; snapshots are a cache, so going back drops them.
DELETE FROM snapshots;
ALTER TABLE snapshots ALTER COLUMN state SET STORAGE EXTENDED;
ALTER TABLE snapshots ALTER COLUMN state TYPE jsonb USING convert_from(state, 'UTF8')::jsonb;
