-- Departments' lists for verifying the counts (应报尽报、一个不漏, 三(二)): the current list per department (and
-- territory), written in the transaction of its VerificationListImported events. Differences against the
-- registry are computed when read, so a code registered after the list is no longer "not in the registry".
CREATE TABLE verification_lists (
    list_key                     TEXT        PRIMARY KEY,  -- the stream id verification-<department>[-<territory>]
    department                   TEXT        NOT NULL,
    territory                    TEXT,
    list_id                      TEXT        NOT NULL,
    submission                   INTEGER     NOT NULL,
    import_id                    TEXT        NOT NULL,
    row_count                    INTEGER     NOT NULL,
    matched_count                INTEGER     NOT NULL,
    registered_differently_count INTEGER     NOT NULL,
    not_in_registry_count        INTEGER     NOT NULL,
    member_count                 INTEGER     NOT NULL,
    imported_by                  TEXT        NOT NULL,
    imported_at                  TIMESTAMPTZ NOT NULL
);

CREATE TABLE verification_rows (
    list_key   TEXT    NOT NULL,
    row_number INTEGER NOT NULL,
    uscc       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    member     BOOLEAN,
    PRIMARY KEY (list_key, uscc)
);
