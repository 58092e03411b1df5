-- Records a consumer could not even dead-letter (the broker refused the copy: too large for it). Each is
-- kept here, in the consumer's transaction, and skipped; campaign_dead_letters_undelivered_total alerts.
CREATE TABLE undelivered_dead_letters (
    id            BIGSERIAL   PRIMARY KEY,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    group_id      TEXT        NOT NULL,
    topic         TEXT        NOT NULL,
    partition     INT         NOT NULL,
    "offset"      BIGINT      NOT NULL,
    reason        TEXT        NOT NULL,
    value_size    INT,
    value_sha256  TEXT,
    error         TEXT        NOT NULL
);
CREATE INDEX undelivered_dead_letters_group_idx ON undelivered_dead_letters (group_id, recorded_at);
