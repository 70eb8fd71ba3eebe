-- Every event that holds personal data sealed under a data key (kit.Personal's sealed
-- form, {"pii_subject": s, "pii_key": k, "pii_sealed": ...}, anywhere in its payload)
-- is checked as it is inserted: the key must still be its subject's, and the check holds
-- the key's KEY SHARE lock until the transaction ends (personal_data_key_held, migration
-- 00015), so an erasure waits for it. Nothing can store data sealed under an erased key,
-- whatever code writes the event, and a service that seals with a data key it kept from
-- an earlier transaction sends no statement of its own for the check: a key erased
-- meanwhile fails the insert with SQLSTATE ES420, and the command runs again.
-- An event without a sealed value costs the WHEN test (a jsonpath scan, well under a
-- microsecond).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION events_check_data_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sealed jsonb;
BEGIN
    FOR sealed IN SELECT jsonb_path_query(NEW.payload, 'strict $.** ? (exists(@.pii_key))') LOOP
        PERFORM personal_data_key_held(sealed->>'pii_subject', (sealed->>'pii_key')::uuid);
    END LOOP;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER events_check_data_keys BEFORE INSERT ON events FOR EACH ROW
    WHEN (jsonb_path_exists(NEW.payload, 'strict $.**.pii_key'))
    EXECUTE FUNCTION events_check_data_keys();

-- +goose Down
DROP TRIGGER events_check_data_keys ON events;
DROP FUNCTION events_check_data_keys();
