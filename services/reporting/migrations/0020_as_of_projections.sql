-- As-of projections (<schema>_asof_<time>): replays up to a past moment, kept as a cache for bulletins
-- and GET /rates?as_of=. Each is rebuilt from the log on demand, so only the most recently used are
-- kept (reporting.adapters.as_of_cache); this table says when each was last used.
CREATE TABLE as_of_projections (
    schema_name    TEXT        PRIMARY KEY,
    replayed_until TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
