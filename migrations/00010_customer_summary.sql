-- customer_summary, version 1: one row per order, filled asynchronously by the consumer
-- customer_summary_v1 (infrastructure/postgres/customersummary). Versioned tables are
-- created here, by the owner, because the service's role runs no DDL; a new version
-- adds a migration like this one (docs/architecture.md, blue/green rebuild).

-- +goose Up
CREATE TABLE IF NOT EXISTS customer_summary_v1 (
    order_id      uuid   PRIMARY KEY,
    customer_id   text   NOT NULL,
    currency      text   NOT NULL,
    total_cents   bigint NOT NULL DEFAULT 0,
    status        text   NOT NULL,
    last_position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_summary_v1_customer ON customer_summary_v1 (customer_id);

-- +goose Down
DROP TABLE customer_summary_v1;
