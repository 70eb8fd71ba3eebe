-- The order_overview read model, written in the same transaction as the events it is
-- built from. Lines live in a child table so that adding one is an insert, not a
-- rewrite of a growing JSON array.

-- +goose Up
CREATE TABLE order_overview (
    id          uuid        PRIMARY KEY,
    customer_id text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total_cents bigint      NOT NULL DEFAULT 0 CHECK (total_cents >= 0),
    line_count  bigint      NOT NULL DEFAULT 0 CHECK (line_count >= 0),
    -- The stream version this row reflects; an event at or below it is already applied.
    version     bigint      NOT NULL CHECK (version > 0),
    placed_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Lists are newest first, optionally filtered by status or customer, paged by
-- (placed_at, id) keyset.
CREATE INDEX order_overview_newest_idx ON order_overview (placed_at DESC, id DESC);
CREATE INDEX order_overview_status_idx ON order_overview (status, placed_at DESC, id DESC);
CREATE INDEX order_overview_customer_idx ON order_overview (customer_id, placed_at DESC, id DESC);

CREATE TABLE order_overview_lines (
    order_id         uuid    NOT NULL REFERENCES order_overview (id) ON DELETE CASCADE,
    -- The stream version of the OrderLineAdded event, so lines keep their order.
    line_no          bigint  NOT NULL,
    sku              text    NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint  NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, line_no)
);

-- +goose Down
DROP TABLE order_overview_lines;
DROP TABLE order_overview;
