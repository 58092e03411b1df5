"""As-of figures from snapshots equal the full replay's, at any moment (real Kafka and PostgreSQL).

One log for the module: the hand-made scenario (transfers, dissolutions, flags, lists) and 2,000 bench
campaign events, published a little out of time order across streams (each stream in order, as the
relay keeps it) and with relay duplicates; snapshots every 500 events and at cutoffs."""

import hashlib
import random
import sys
import uuid
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from platform_core.db import migrate
from reporting.adapters import as_of_snapshots, queries
from reporting.adapters.replay import replay_into
from reporting.domain import fold_snapshot
from reporting.domain.window import Window
from reporting_support import create_topics, delete_topics, drop_schemas_like, publish  # noqa: I001 (sets the path)
from reporting_scenario import REGISTRY, campaign

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from campaign_events import campaign_events, envelope  # noqa: E402

pytestmark = pytest.mark.integration
MIGRATIONS = Path(as_of_snapshots.__file__).resolve().parents[1] / "migrations"
LEVELS = ("city", "district", "street", "kind", "department")
EVERY = 500


def jittered(events, rng: random.Random, reach: int = 25):
    """The events in a slightly shuffled order, each stream's still in order (a relay's partition order)."""
    keys, last = [], {}
    for i, (service, env) in enumerate(events):
        key = max(i + rng.randint(0, reach), last.get(env.stream_id, -1) + 0.5)
        last[env.stream_id] = key
        keys.append(key)
    return [event for _, event in sorted(zip(keys, events), key=lambda pair: pair[0])]


@pytest.fixture(scope="module")
def log(settings, engine):
    rng = random.Random(2016)
    topics = create_topics(settings.kafka_bootstrap, partitions=3)
    scenario = [(service, env) for service, env in campaign().events]
    bench = [(event.service, envelope(event, i)) for i, event in enumerate(campaign_events(2000, 7))]
    events = jittered(sorted(scenario + bench, key=lambda pair: pair[1].recorded_at), rng)
    publish(settings.kafka_bootstrap, topics, events, duplicate_every=37)
    live = f"t_snap_{uuid.uuid4().hex[:8]}"
    migrate(engine, live, MIGRATIONS)
    moments = sorted(env.recorded_at for _, env in events)
    cutoffs = [moments[len(moments) // 3] + timedelta(microseconds=1),
               moments[2 * len(moments) // 3] + timedelta(microseconds=1), moments[-1] + timedelta(hours=1)]
    cut = as_of_snapshots.refresh(engine, settings.kafka_bootstrap, live, REGISTRY, EVERY,
                                  moments[-1] + timedelta(days=1), cutoffs, tuple(topics.values()))
    yield {"topics": tuple(topics.values()), "live": live, "moments": moments, "cut": cut, "cutoffs": cutoffs}
    drop_schemas_like(engine, live)
    delete_topics(settings.kafka_bootstrap, topics)


def replayed_counters(engine, settings, log, moment) -> tuple[dict, dict]:
    """Per level, and the streets of the first district (GET /rates?district=), from a full replay to the moment."""
    schema = f"{log['live']}_full_{uuid.uuid4().hex[:6]}"
    replay_into(engine, settings.kafka_bootstrap, schema, REGISTRY, window=Window(until=moment), topics=log["topics"])
    with engine.connect() as conn:
        by_level = {level: queries.counters_by(conn, schema, level) for level in LEVELS}
        district = next(iter(by_level["district"]), "420102")
        streets = queries.counters_by(conn, schema, "street", "district_code = :district", {"district": district})
    return by_level, {district: streets}


def test_snapshots_are_cut_every_n_events_and_at_the_cutoffs(log):
    moments, cut = log["moments"], log["cut"]
    assert set(log["cutoffs"][:2]) <= set(cut)
    assert log["cutoffs"][2] not in cut  # past the newest event: events recorded by then may still come
    assert len(cut) >= len(moments) // EVERY  # the duplicates are records too, so a few more


@pytest.mark.parametrize("which", ["random-1", "random-2", "at-a-snapshot",
                                   "at-an-event", "before-the-first-event", "after-the-last-snapshot",
                                   "between-two-cutoffs"])
def test_as_of_from_snapshots_equals_the_full_replay(engine, settings, log, which):
    moments, rng = log["moments"], random.Random(which)
    first, last = moments[0], moments[-1]
    moment = {
        "at-a-snapshot": log["cut"][len(log["cut"]) // 2],
        "at-an-event": moments[rng.randrange(len(moments))],
        "before-the-first-event": first - timedelta(seconds=1),
        "after-the-last-snapshot": last + timedelta(hours=2),
        "between-two-cutoffs": log["cutoffs"][0] + (log["cutoffs"][1] - log["cutoffs"][0]) / 2,
    }.get(which) or first + (last - first) * rng.random()

    folded = as_of_snapshots.fold_at(engine, settings.kafka_bootstrap, log["live"], REGISTRY, moment, log["topics"])

    expected, streets_of = replayed_counters(engine, settings, log, moment)
    assert {level: folded.counters_by(level) for level in LEVELS} == expected
    assert {d: folded.counters_by("street", d) for d in streets_of} == streets_of
    if which != "before-the-first-event":
        assert folded.records_read <= 3 * EVERY  # only the events after the nearest snapshot were read


def test_every_snapshot_is_the_fold_of_the_log_alone_and_a_changed_one_is_refused(engine, settings, log):
    checked = as_of_snapshots.verify(engine, settings.kafka_bootstrap, log["live"], REGISTRY, log["topics"])
    assert checked and all(v.state_matches and v.digest_matches for v in checked), checked

    # A snapshot whose figures were changed is refused; with its SHA-256 changed along, verify finds it.
    moment, table = log["cut"][-1], f"{log['live']}.as_of_snapshots"
    with engine.connect() as conn:
        blob = conn.execute(sa.text(f"SELECT state FROM {table} WHERE covers_until = :m"), {"m": moment}).scalar_one()
    data = fold_snapshot.loads(zlib.decompress(blob))
    data["totals"][0][2][1] += 1  # one more organization-covered entity in the first unit
    forged = fold_snapshot.dumps(data)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {table} SET state = :s WHERE covers_until = :m"),
                     {"s": zlib.compress(forged), "m": moment})
    with pytest.raises(as_of_snapshots.SnapshotDamaged):
        as_of_snapshots.fold_at(engine, settings.kafka_bootstrap, log["live"], REGISTRY, moment, log["topics"])
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {table} SET state_sha256 = :h WHERE covers_until = :m"),
                     {"h": hashlib.sha256(forged).hexdigest(), "m": moment})
    forged_one = [v for v in as_of_snapshots.verify(engine, settings.kafka_bootstrap, log["live"], REGISTRY,
                                                     log["topics"]) if not v.state_matches]
    assert [v.covers_until for v in forged_one] == [moment]
