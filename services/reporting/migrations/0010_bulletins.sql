-- Published bulletins (通报): the files as published, the data file whose SHA-256 BulletinPublished
-- records, and the signed checkpoint they carry. Not a projection: these are the published artifacts
-- (the figures can be re-derived from the log; the files are kept as sent).
CREATE TABLE bulletins (
    bulletin_id     TEXT        PRIMARY KEY,
    cutoff_date     DATE        NOT NULL UNIQUE,
    published_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    figures_json    BYTEA       NOT NULL,
    figures_sha256  TEXT        NOT NULL,
    html            BYTEA       NOT NULL,
    pdf             BYTEA       NOT NULL,
    xlsx            BYTEA       NOT NULL,
    checkpoint_note TEXT        NOT NULL,
    checkpoint_tree_size BIGINT NOT NULL,
    event_id        UUID        NOT NULL
);

