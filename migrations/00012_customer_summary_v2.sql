-- customer_summary, version 2: one row per order, like version 1, but it remembers the
-- last stream version applied (last_version) instead of the last global position, so
-- that it applies each order's events exactly in version order and says so when it
-- cannot. Version 1 kept events whose position was above the row's, and silently
-- dropped one that a consumer reading in transaction order delivered late (issue 18);
-- its rows may have lost lines, so version 2 is rebuilt from the log beside it
-- (blue/green: docs/architecture.md) and replaces it once caught up.
--
-- read_model_out_of_order raises SQLSTATE ES412 when a projection is handed a stream
-- version that is not the next one it expects: the consumer stops at that event
-- (`orders consumers status` shows why) instead of guessing.

-- +goose Up
CREATE TABLE IF NOT EXISTS customer_summary_v2 (
    order_id     uuid   PRIMARY KEY,
    customer_id  text   NOT NULL,
    currency     text   NOT NULL,
    total_cents  bigint NOT NULL DEFAULT 0,
    status       text   NOT NULL,
    last_version bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_summary_v2_customer ON customer_summary_v2 (customer_id);

-- +goose StatementBegin
CREATE FUNCTION read_model_out_of_order(read_model text, stream text, applied bigint, got bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION '%: % is at version %, so version % is not the next one', read_model, stream, applied, got
        USING ERRCODE = 'ES412';
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION read_model_out_of_order(text, text, bigint, bigint);
DROP TABLE customer_summary_v2;
