"""As-of projections are a cache: the least recently used beyond the limit are dropped, nothing else."""

import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from platform_core.db import migrate
from reporting.adapters import as_of_cache
from reporting_support import drop_schemas_like  # noqa: I001 (sets the path)

pytestmark = pytest.mark.integration
UNTIL = datetime(2016, 11, 20, 16, tzinfo=timezone.utc)
REPORTING_MIGRATIONS = Path(as_of_cache.__file__).resolve().parents[1] / "migrations"


@pytest.fixture
def live(engine):
    name = f"t_asof_{uuid.uuid4().hex[:10]}"
    migrate(engine, name, REPORTING_MIGRATIONS)
    yield name
    drop_schemas_like(engine, name)


def schemas(engine, prefix: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"),
                                {"p": prefix}).scalars())


def create(engine, *names: str) -> None:
    with engine.begin() as conn:
        for name in names:
            conn.execute(sa.text(f"CREATE SCHEMA {name}"))
            conn.execute(sa.text(f"CREATE TABLE {name}.rp_meta (id int)"))  # a schema with tables drops too


def test_the_least_recently_used_beyond_the_limit_are_dropped(engine, live):
    a, b, c, d, unknown = (f"{live}_asof_2016112{n}160000" for n in range(5))
    other_live = f"{live}x_asof_20161120160000"  # another live schema's cache: not this one's to drop
    create(engine, a, b, c, d, unknown, other_live)
    for name in (a, b, c, d):  # used in this order: d last
        as_of_cache.note_use(engine, live, name, UNTIL)

    dropped = as_of_cache.prune(engine, live, keep=2, protect=[a])

    assert sorted(dropped) == sorted([b, unknown])  # a is protected; unknown counts as never used
    assert schemas(engine, f"{live}_asof_") == {a, c, d}
    assert other_live in schemas(engine, other_live)
    with engine.connect() as conn:
        known = set(conn.execute(sa.text(f"SELECT schema_name FROM {live}.as_of_projections")).scalars())
    assert known == {a, c, d}


def test_a_use_makes_an_old_projection_the_newest(engine, live):
    a, b, c = (f"{live}_asof_2016112{n}160000" for n in range(3))
    create(engine, a, b, c)
    for name in (a, b, c, a):  # a used again last
        as_of_cache.note_use(engine, live, name, UNTIL)

    assert as_of_cache.prune(engine, live, keep=2) == [b]
    assert schemas(engine, f"{live}_asof_") == {a, c}


def test_a_build_noted_before_its_schema_exists_is_not_forgotten(engine, live):
    building = f"{live}_asof_20161125160000"  # noted, its replay not yet begun
    old = [f"{live}_asof_2016112{n}160000" for n in range(3)]
    create(engine, *old)
    for name in (*old, building):
        as_of_cache.note_use(engine, live, name, UNTIL)

    assert as_of_cache.prune(engine, live, keep=2) == [old[0]]  # the building one is not a schema yet
    create(engine, building)  # the replay creates it; its note survived the prune, so it is the newest
    assert sorted(as_of_cache.prune(engine, live, keep=1)) == old[1:]
    assert schemas(engine, f"{live}_asof_") == {building}


@pytest.fixture
def slow_replays(engine, live, monkeypatch):
    """``bulletins.as_of`` on the live schema with a replay that only creates its schema, slowly;
    yields (context, the schemas replayed in order)."""
    from types import SimpleNamespace

    from reporting.handlers import bulletins

    builds = []

    def replay_into(engine, bootstrap, schema, registry, window, **kwargs):  # the replay's effect, slowly
        builds.append(schema)
        time.sleep(0.5)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
            conn.execute(sa.text(f"CREATE TABLE IF NOT EXISTS {schema}.rp_meta"
                                 " (replayed_until timestamptz, replay_finished_at timestamptz)"))
            conn.execute(sa.text(f"INSERT INTO {schema}.rp_meta VALUES (NULL, NULL)"))
        return SimpleNamespace(records=0, seconds=0.5)

    monkeypatch.setattr(bulletins, "replay_into", replay_into)
    yield SimpleNamespace(engine=engine, schema=live, settings=SimpleNamespace(kafka_bootstrap="unused")), builds


@pytest.fixture
def replay_slot_taken(engine):
    """Another replay holds the service's replay slot until the test ends; yields the call that ends it."""
    from reporting.adapters.as_of_cache import REPLAY_SLOT

    with engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": REPLAY_SLOT})
        yield lambda: holder.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        holder.execute(sa.text("SELECT pg_advisory_unlock_all()"))  # the pool keeps the session


def test_concurrent_requests_for_one_moment_replay_once(slow_replays):
    from concurrent.futures import ThreadPoolExecutor

    from reporting.handlers import bulletins

    context, builds = slow_replays
    with ThreadPoolExecutor(4) as pool:
        schemas_built = list(pool.map(lambda _: bulletins.as_of(context, UNTIL), range(4)))

    assert len(set(schemas_built)) == 1 and builds == schemas_built[:1]  # one replay; the others reused it


def test_an_ad_hoc_moment_is_busy_while_another_replay_runs(engine, slow_replays, replay_slot_taken):
    from platform_core.errors import Busy
    from reporting.handlers import bulletins

    context, builds = slow_replays
    with pytest.raises(Busy) as refused:
        bulletins.as_of(context, UNTIL, wait_for_replay=False)

    assert refused.value.status == 503 and refused.value.field == "as_of" and refused.value.retry_after > 0
    assert builds == [] and schemas(engine, f"{context.schema}_asof_") == set()
    with engine.connect() as conn:  # not even noted as used
        assert conn.execute(sa.text(f"SELECT count(*) FROM {context.schema}.as_of_projections")).scalar() == 0


def test_a_built_moment_is_served_while_another_replay_runs(engine, slow_replays):
    from reporting.handlers import bulletins
    from reporting.adapters.as_of_cache import REPLAY_SLOT

    context, builds = slow_replays
    built = bulletins.as_of(context, UNTIL)  # finished long after UNTIL: settled
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": REPLAY_SLOT})
        assert bulletins.as_of(context, UNTIL, wait_for_replay=False) == built
        holder.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": REPLAY_SLOT})
    assert builds == [built]


def test_a_bulletin_waits_for_the_replay_slot(slow_replays, replay_slot_taken):
    from concurrent.futures import ThreadPoolExecutor

    from reporting.handlers import bulletins

    context, builds = slow_replays
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(bulletins.as_of, context, UNTIL)
        time.sleep(1.0)
        assert not waiting.done() and builds == []  # queued behind the other replay, not refused
        replay_slot_taken()  # the other replay ends
        assert waiting.result(timeout=30) == builds[0]
