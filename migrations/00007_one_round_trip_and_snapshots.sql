-- Two things for fast commands (issue 14).
--
-- eventstore_version_mismatch raises SQLSTATE ES409. A command that appends on a state
-- it did not read in its transaction (a cached state, or a stream it takes to be new)
-- sends the append in the same batch as its read-model writes and COMMIT; the append
-- calls this when the stream's head did not move, so the whole transaction aborts and
-- the writer falls back to reading the stream first.
--
-- snapshots hold an aggregate's folded state at a version, so that the first command on
-- a long stream that is not cached reads only the events after it. They are a cache:
-- written after commits, off the request's path, and deleting any or all of them changes
-- no answer. state_schema_version is the aggregate's own number for the shape of its
-- state (bumped whenever Evolve changes); a snapshot with another number is ignored.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION eventstore_version_mismatch(stream_type text, stream_id text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'stream %/% is not at the expected version', stream_type, stream_id
        USING ERRCODE = 'ES409';
END
$$;
-- +goose StatementEnd

CREATE TABLE snapshots (
    stream_type          text        NOT NULL,
    stream_id            text        NOT NULL,
    version              bigint      NOT NULL CHECK (version > 0),
    state_schema_version integer     NOT NULL,
    state                jsonb       NOT NULL,
    taken_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_type, stream_id)
);

-- +goose Down
DROP TABLE snapshots;
DROP FUNCTION eventstore_version_mismatch(text, text);
