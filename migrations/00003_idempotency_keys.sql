-- Responses kept for Idempotency-Key, written in the same transaction as the command's
-- events, so a repeat sees either nothing (and runs) or the committed response.

-- +goose Up
CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    fingerprint  text        NOT NULL,
    status       integer,
    content_type text,
    headers      jsonb,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- The periodic clean-up deletes by expiry.
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
