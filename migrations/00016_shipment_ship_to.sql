-- The example's shipments carry their order's recipient and address (ship_to), sealed as
-- the log keeps it (migration 00015, infrastructure/personaldata). Its own migration, so
-- that make remove-example undoes it with the rest of the example's.

-- +goose Up
ALTER TABLE shipment_overview ADD COLUMN ship_to jsonb;

-- +goose Down
ALTER TABLE shipment_overview DROP COLUMN ship_to;
