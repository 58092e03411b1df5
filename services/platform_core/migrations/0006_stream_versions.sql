-- The newest version of each stream a projection group applied (platform_core.projection_consumer):
-- a record whose version is not above it is a relay duplicate. One row per stream, not per event,
-- written in the transaction of the projection's rows and offsets. ``previous_version`` is the version
-- before the batch that last raised it: what the guard's upsert RETURNs to tell new events from repeats
-- (the stored row as locked, also when another member's batch raised it concurrently).
CREATE TABLE stream_versions (
    group_id         TEXT   NOT NULL,
    topic            TEXT   NOT NULL,
    stream_id        TEXT   NOT NULL,
    version          BIGINT NOT NULL,
    previous_version BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, topic, stream_id)
);
