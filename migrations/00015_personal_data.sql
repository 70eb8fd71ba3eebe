-- Personal data, sealed per customer (infrastructure/personaldata, docs/architecture.md,
-- "Personal data"). Each data subject has one data key at a time, kept wrapped
-- (encrypted) by a key encryption key from the service's configuration, never in the
-- clear; kek_id names the key that wrapped it. Events hold personal data only sealed
-- under a data key, with the key's id. Erasure deletes the subject's row: whatever was
-- sealed under it, in the log, the read models, snapshots and backups, cannot be opened.
--
-- personal_data_key(subject, key_id, wrapped, kek_id) returns the subject's current key,
-- creating it from the arguments if there is none, and holds a KEY SHARE lock on the row
-- until the transaction ends: an erasure (a DELETE) waits for every transaction that is
-- sealing under the key, and one that starts after the erasure gets a new key.

-- +goose Up
CREATE TABLE personal_data_keys (
    subject    text        PRIMARY KEY,
    key_id     uuid        NOT NULL UNIQUE,
    wrapped    bytea       NOT NULL,
    kek_id     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX personal_data_keys_kek_idx ON personal_data_keys (kek_id);

-- +goose StatementBegin
CREATE FUNCTION personal_data_key(p_subject text, p_key_id uuid, p_wrapped bytea, p_kek_id text,
        OUT key_id uuid, OUT wrapped bytea, OUT kek_id text)
LANGUAGE plpgsql AS $$
BEGIN
    LOOP
        SELECT k.key_id, k.wrapped, k.kek_id INTO key_id, wrapped, kek_id
        FROM personal_data_keys k WHERE k.subject = p_subject FOR KEY SHARE;
        IF FOUND THEN
            RETURN;
        END IF;
        -- None yet (or erased a moment ago): offer ours. A concurrent creator makes the
        -- INSERT wait, then do nothing, and the next SELECT finds its key.
        INSERT INTO personal_data_keys (subject, key_id, wrapped, kek_id)
        VALUES (p_subject, p_key_id, p_wrapped, p_kek_id) ON CONFLICT (subject) DO NOTHING;
    END LOOP;
END $$;
-- +goose StatementEnd

-- personal_data_key_held(subject, key_id) is the check that goes with a data key a
-- service kept from an earlier transaction (sealing then costs no round trip): it takes
-- the same KEY SHARE lock, and fails with SQLSTATE ES420 when the subject's key is no
-- longer that one (erased, so the transaction rolls back and is retried with a new key).
-- +goose StatementBegin
CREATE FUNCTION personal_data_key_held(p_subject text, p_key_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM personal_data_keys k WHERE k.subject = p_subject AND k.key_id = p_key_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the personal data key % of % is gone', p_key_id, p_subject USING ERRCODE = 'ES420';
    END IF;
END $$;
-- +goose StatementEnd

-- Read models keep personal data sealed, as the log does.
ALTER TABLE order_overview ADD COLUMN contact jsonb;

-- +goose Down
ALTER TABLE order_overview DROP COLUMN contact;
DROP FUNCTION personal_data_key_held(text, uuid);
DROP FUNCTION personal_data_key(text, uuid, bytea, text);
DROP TABLE personal_data_keys;
