-- order_overview.line_count held the number of units (the sum of quantities) while its
-- name said lines. It is unit_count now; the API's line_count is the number of lines,
-- which order_overview_lines already holds.

-- +goose Up
ALTER TABLE order_overview RENAME COLUMN line_count TO unit_count;
ALTER TABLE order_overview RENAME CONSTRAINT order_overview_line_count_check TO order_overview_unit_count_check;

-- +goose Down
ALTER TABLE order_overview RENAME CONSTRAINT order_overview_unit_count_check TO order_overview_line_count_check;
ALTER TABLE order_overview RENAME COLUMN unit_count TO line_count;
