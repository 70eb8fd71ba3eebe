-- The shipment_overview read model, written in the same transaction as the shipment
-- events it is built from. order_id is unique: an order has at most one shipment (its
-- id is derived from the order's, so the stream guarantees it too). customer_id is the
-- order's customer, copied by ShipmentCreated: a customer reads and lists only the
-- shipments of its own orders.

-- +goose Up
CREATE TABLE shipment_overview (
    id          uuid        PRIMARY KEY,
    order_id    uuid        NOT NULL UNIQUE,
    customer_id text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('pending', 'dispatched', 'delivered', 'cancelled')),
    carrier     text        NULL,
    tracking_no text        NULL,
    -- [{"sku": ..., "quantity": ...}], written once by ShipmentCreated.
    items       jsonb       NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    -- The stream version this row reflects; an event at or below it is already applied.
    version     bigint      NOT NULL CHECK (version > 0),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Lists are newest first, optionally filtered by order or status, paged by
-- (created_at, id) keyset; a customer's lists are always filtered by its customer_id.
-- The filter by order_id uses the index of its UNIQUE constraint (at most one row
-- matches), so it needs no index of its own.
CREATE INDEX shipment_overview_newest_idx ON shipment_overview (created_at DESC, id DESC);
CREATE INDEX shipment_overview_status_idx ON shipment_overview (status, created_at DESC, id DESC);
CREATE INDEX shipment_overview_customer_idx ON shipment_overview (customer_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE shipment_overview;
