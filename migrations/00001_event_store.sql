-- The event store: an append-only log of every event, and the head (latest version) of
-- each stream so that an append checks its expected version against one row.

-- +goose Up
CREATE TABLE events (
    global_position bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_type     text        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL CHECK (event_type <> ''),
    schema_version  integer     NOT NULL CHECK (schema_version > 0),
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    correlation_id  text,
    causation_id    text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- The writing transaction's id. Identity values are handed out before commit, so a
    -- reader that follows global_position alone can skip an event whose transaction
    -- commits late; a reader that only goes up to pg_snapshot_xmin(pg_current_snapshot())
    -- by transaction_id cannot.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    -- Reading one stream in order uses this index; it is also the last guard against
    -- two events claiming the same version.
    CONSTRAINT events_stream_version_key UNIQUE (stream_type, stream_id, stream_version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE TABLE aggregate_heads (
    stream_type text   NOT NULL,
    stream_id   text   NOT NULL,
    version     bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (stream_type, stream_id)
);

-- +goose StatementBegin
CREATE FUNCTION events_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER events_append_only_rows
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_reject_change();

CREATE TRIGGER events_append_only_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change();

-- +goose Down
DROP TABLE aggregate_heads;
DROP TABLE events;
DROP FUNCTION events_reject_change();
