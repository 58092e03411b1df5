"""The as-of projections kept as a cache: building one at a time, which were used last, and dropping the rest.

Every bulletin cutoff and every ``GET /rates?as_of=`` time builds a ``<live>_asof_<time>`` schema by
replay. They are all re-derivable from the log, so keeping them forever only fills the disk: after
each build the least recently used beyond ``keep`` are dropped. A schema of that name that the table
does not know (built by ``campaign-reporting replay --until``, or before the table existed) counts
as the least recently used.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from platform_core.db import quoted_schema
from reporting.adapters.replay import as_of_prefix

AS_OF_KEPT = 16  # a bulletin needs two (its cutoff and the previous one), the trail four milestones; dashboards more
NEVER_USED = datetime(1970, 1, 1, tzinfo=timezone.utc)
# The advisory lock one as-of replay holds in the whole service (every process on the database).
REPLAY_SLOT = "as-of-replay-slot"


@contextmanager
def building(engine: Engine, schema: str) -> Iterator[Callable[[bool], bool]]:
    """One build of an as-of schema at a time: a burst of requests for the same past moment replays
    once, and the others wait and reuse it. A session advisory lock on a connection of its own, closed
    afterwards (never returned to the pool holding a lock). Yields the function that takes the replay
    slot on the same connection (waiting for it, or not: it returns whether it was taken); the slot is
    always taken after the schema's lock, so no two builds wait on each other in a cycle."""
    connection = engine.raw_connection()
    connection.detach()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"as-of-build:{schema}",))
        connection.commit()
        yield lambda wait: _take_replay_slot(connection, wait)
    finally:
        connection.close()


def _take_replay_slot(connection, wait: bool) -> bool:
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", (REPLAY_SLOT,))
            taken = True
        else:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (REPLAY_SLOT,))
            taken = cursor.fetchone()[0]
    connection.commit()
    return taken


def settled(engine: Engine, schema: str, until: datetime, after: timedelta) -> bool:
    """Whether ``schema`` was built by a replay that finished more than ``after`` past ``until``."""
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{schema}.rp_meta"}).scalar() is None:
            return False
        finished = conn.execute(sa.text(f"SELECT replay_finished_at FROM {schema}.rp_meta")).scalar()
    return finished is not None and finished > until + after


def note_replayed(engine: Engine, schema: str, until: datetime, finished_at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {quoted_schema(schema)}.rp_meta SET replayed_until = :u,"
                             " replay_finished_at = :now"), {"u": until, "now": finished_at})



def note_use(engine: Engine, live: str, schema: str, until: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO {quoted_schema(live)}.as_of_projections (schema_name, replayed_until, used_at)"
            " VALUES (:s, :u, clock_timestamp()) ON CONFLICT (schema_name) DO UPDATE SET used_at = EXCLUDED.used_at,"
            " replayed_until = EXCLUDED.replayed_until"), {"s": schema, "u": until})


def prune(engine: Engine, live: str, keep: int = AS_OF_KEPT, protect: Iterable[str] = ()) -> list[str]:
    """Drop the as-of schemas beyond the ``keep`` most recently used (never those in ``protect``);
    return the names dropped. One pruner at a time per live schema (an advisory lock)."""
    live = quoted_schema(live)
    protected = set(protect)
    dropped = []
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"as-of-prune:{live}"})
        names = [name for name in conn.execute(sa.text(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"), {"p": as_of_prefix(live)}).scalars()
            if name.isidentifier() and name == name.lower()]
        used = dict(conn.execute(sa.text(f"SELECT schema_name, used_at FROM {live}.as_of_projections")).all())
        newest_first = sorted(names, key=lambda name: (used.get(name, NEVER_USED), name), reverse=True)
        for name in newest_first[keep:]:
            if name in protected:
                continue
            conn.execute(sa.text(f"DROP SCHEMA {quoted_schema(name)} CASCADE"))
            dropped.append(name)
        # Only the dropped: a row whose schema does not exist yet is a build that has just begun.
        conn.execute(sa.text(f"DELETE FROM {live}.as_of_projections WHERE schema_name = ANY(:dropped)"),
                     {"dropped": dropped})
    return dropped
