-- Partitioned consumers (infrastructure/postgres/subscription, docs/architecture.md,
-- "Partitioned consumers"). A consumer runs as N partitions: an event belongs to
-- partition mod(abs(hashtext(stream_type || '/' || stream_id)), N), so one stream always
-- lands in one partition. Each partition has its own checkpoint row, keyed by
-- (name, partitions, partition); today's row becomes partition 0 of 1, with its
-- position unchanged, so an upgrade loses no position.
--
-- The row is also the partition's lease: owner, epoch (bumped by every claim),
-- lease_until (renewed by the owner's heartbeat, heartbeat_at). Every checkpoint write
-- compares the epoch, so an owner that lost its lease cannot commit.
--
-- skip_partitions/skip_positions describe, after a change of N, what the previous set
-- of partitions had handled already: an event at or below
-- skip_positions[mod(hash, skip_partitions) + 1] is passed over (0: nothing to pass).
--
-- consumer_members lists the instances running each consumer (seen_at, their heartbeat)
-- and the number of partitions each is configured with: partitions are spread over the
-- live ones, and N changes when every live one asks for the same new value.

-- +goose Up
ALTER TABLE consumer_checkpoints
    ADD COLUMN partitions      integer     NOT NULL DEFAULT 1 CHECK (partitions > 0),
    ADD COLUMN partition       integer     NOT NULL DEFAULT 0,
    ADD COLUMN epoch           bigint      NOT NULL DEFAULT 0,
    ADD COLUMN lease_until     timestamptz,
    ADD COLUMN heartbeat_at    timestamptz,
    ADD COLUMN skip_partitions integer     NOT NULL DEFAULT 0 CHECK (skip_partitions >= 0),
    ADD COLUMN skip_positions  bigint[]    NOT NULL DEFAULT '{}',
    ADD CONSTRAINT consumer_checkpoints_partition_range CHECK (partition >= 0 AND partition < partitions);
ALTER TABLE consumer_checkpoints DROP CONSTRAINT consumer_checkpoints_pkey,
    ADD PRIMARY KEY (name, partitions, partition);

CREATE TABLE consumer_members (
    name       text        NOT NULL,
    owner      text        NOT NULL,
    partitions integer     NOT NULL CHECK (partitions > 0),
    seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, owner)
);

-- +goose Down
DROP TABLE consumer_members;
-- Keeps one row per consumer, at the lowest position of its partitions: what the other
-- partitions had handled beyond it is repeated, idempotently.
UPDATE consumer_checkpoints c SET position = m.position, partitions = 1, partition = 0, skip_partitions = 0, skip_positions = '{}'
    FROM (SELECT name, min(position) AS position, min(partition) AS first FROM consumer_checkpoints GROUP BY name) m
    WHERE c.name = m.name AND c.partition = m.first AND (c.partition <> 0 OR c.partitions <> 1 OR c.position <> m.position);
DELETE FROM consumer_checkpoints WHERE partitions <> 1;
ALTER TABLE consumer_checkpoints DROP CONSTRAINT consumer_checkpoints_pkey;
ALTER TABLE consumer_checkpoints ADD PRIMARY KEY (name),
    DROP CONSTRAINT consumer_checkpoints_partition_range,
    DROP COLUMN partitions, DROP COLUMN partition, DROP COLUMN epoch, DROP COLUMN lease_until,
    DROP COLUMN heartbeat_at, DROP COLUMN skip_partitions, DROP COLUMN skip_positions;
