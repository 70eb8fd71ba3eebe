-- Idempotency keys are scoped by the principal that sent them (the token's subject,
-- '' when authentication is off): another caller reusing a key gets its own
-- execution, never the first caller's response.
--
-- The application role's privileges are not here: the role is named by configuration
-- (APP_DB_ROLE), so `migrate up` grants them after the migrations (roles.go), every
-- time, idempotently.

-- +goose Up
ALTER TABLE idempotency_keys ADD COLUMN scope text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (scope, key);

-- +goose Down
DELETE FROM idempotency_keys WHERE scope <> '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (key);
ALTER TABLE idempotency_keys DROP COLUMN scope;
