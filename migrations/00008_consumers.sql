-- Asynchronous consumers of the event log (infrastructure/postgres/subscription).
-- Each consumer keeps one checkpoint row: the last event it has handled, as
-- (transaction_id, position) in the order it reads the log (by writing transaction, then
-- position: see infrastructure/postgres/subscription), who owns it now, and, when an event keeps failing, the error and the
-- position it is stopped at (an operator resumes it with `orders consumers skip|reset`).

-- +goose Up
CREATE TABLE consumer_checkpoints (
    name           text        PRIMARY KEY,
    position       bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    transaction_id xid8        NOT NULL DEFAULT '0',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    owner          text,
    error          text,
    error_position bigint,
    attempts       integer     NOT NULL DEFAULT 0,
    stopped        boolean     NOT NULL DEFAULT false
);

-- Which version of each versioned (blue/green) read model answers reads, and since
-- when; the tables of older versions are dropped a while after the switch.
CREATE TABLE read_model_versions (
    name        text        PRIMARY KEY,
    active      integer     NOT NULL CHECK (active > 0),
    switched_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE read_model_versions;
DROP TABLE consumer_checkpoints;
