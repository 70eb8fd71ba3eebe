-- +goose Up
-- An idempotency key keeps the command's outcome, no longer an HTTP response (issue 20):
-- {"id": stream, "version": n} for a command that ran, {"failure": {...}} for a refusal
-- that a repeat must get again; the HTTP layer renders either on every repeat.
--
-- Rows that the previous release kept (status, headers, body) are read through
-- legacy_idempotency_outcome until they expire (IDEMPOTENCY_RETENTION, 24 h by
-- default): same status and code on a repeat, the command never runs twice. A later
-- release drops the function and the old columns.
ALTER TABLE idempotency_keys ADD COLUMN outcome jsonb;

-- +goose StatementBegin
CREATE FUNCTION legacy_idempotency_outcome(status integer, headers jsonb, body bytea) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN status IS NULL OR status = 0 THEN NULL
		WHEN status < 300 THEN jsonb_build_object('version', coalesce(nullif(btrim(headers->>'ETag', 'W/"'), ''), '0')::bigint,
			'id', coalesce(p->>'id', substring(headers->>'Location' from '[^/]*$')))
		ELSE jsonb_build_object('failure', jsonb_strip_nulls(jsonb_build_object(
			'kind', CASE status WHEN 403 THEN 'forbidden' WHEN 404 THEN 'not_found' WHEN 409 THEN 'conflict'
				WHEN 412 THEN 'version_conflict' ELSE 'validation' END,
			'resource', CASE status
				WHEN 404 THEN regexp_replace(p->>'code', '_not_found$', '')
				WHEN 409 THEN substring(p->>'title' from '^Conflict with the (.*)''s state$')
				WHEN 412 THEN substring(p->>'detail' from '^If-Match does not name the (.*)''s current version') END,
			'code', p->>'code',
			'message', p->>'detail',
			'actual', CASE WHEN status = 412 THEN nullif(btrim(headers->>'ETag', 'W/"'), '')::bigint END,
			'exists', CASE WHEN status = 409 AND headers ? 'Location' THEN true END,
			'fields', (SELECT jsonb_agg(jsonb_build_object('Field', e->>'field', 'Message', e->>'message'))
				FROM jsonb_array_elements(coalesce(p->'errors', '[]')) e))))
	END
	FROM (SELECT CASE WHEN length(body) > 0 THEN convert_from(body, 'UTF8')::jsonb END AS p) response
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION legacy_idempotency_outcome(integer, jsonb, bytea);
ALTER TABLE idempotency_keys DROP COLUMN outcome;
