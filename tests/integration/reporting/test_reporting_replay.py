"""Replay from real Kafka into PostgreSQL: the hand-computed figures, and replay == live processing."""

import uuid

import pytest

from reporting.adapters import queries
from reporting.adapters.projection_store import create_tables
from reporting.adapters.replay import replay_into
from reporting.domain.window import Window
from reporting_support import (  # noqa: I001 (sets the path)
    create_topics, delete_topics, drop_schema, dump, project_topics, publish)
from reporting_scenario import REGISTRY, campaign, ent

pytestmark = pytest.mark.integration


@pytest.fixture
def topics(settings):
    created = create_topics(settings.kafka_bootstrap)
    yield created
    delete_topics(settings.kafka_bootstrap, created)


@pytest.fixture
def schemas(engine):
    names = []

    def make() -> str:
        names.append(f"t_rp_{uuid.uuid4().hex[:10]}")
        return names[-1]

    yield make
    for name in names:
        drop_schema(engine, name)


def test_replay_gives_the_hand_computed_figures_and_equals_live_processing(engine, settings, topics, schemas):
    scenario = campaign()
    publish(settings.kafka_bootstrap, topics, scenario.events, duplicate_every=5)
    replayed = schemas()
    outcome = replay_into(engine, settings.kafka_bootstrap, replayed, REGISTRY, topics=tuple(topics.values()))
    assert outcome.applied == len(scenario.events) and outcome.duplicates == len(scenario.events) // 5
    with engine.connect() as conn:
        city = queries.counters_by(conn, replayed, "city")["city"]
        status = queries.entity_status(conn, replayed, ent(6))
    assert (city.baseline, city.organization_covered, city.standalone_covered, city.two_covered,
            city.required, city.required_covered, city.r3_violations, city.formal_members) == (12, 8, 3, 10, 7, 5, 1, 18)
    assert status["r3_violation"] and status["formal_members"] == 3

    # Live processing in small batches (a plain consumer group) gives the same tables.
    live = schemas()
    from platform_core.db import migrate
    migrate(engine, live)
    with engine.begin() as conn:
        create_tables(conn, live)
    project_topics(engine, settings, live, topics, REGISTRY, "test-reporting-dlq", max_records=4)
    assert dump(engine, live) == dump(engine, replayed)

    # Replaying again gives identical tables.
    again = schemas()
    replay_into(engine, settings.kafka_bootstrap, again, REGISTRY, topics=tuple(topics.values()))
    assert dump(engine, again) == dump(engine, replayed)


def test_replay_to_a_cutoff_gives_the_figures_as_of_then(engine, settings, topics, schemas):
    scenario = campaign()
    publish(settings.kafka_bootstrap, topics, scenario.events)
    # Just before the first OrganizationFormed: nothing is organization-covered yet.
    first_formed = next(e for _, e in scenario.events if e.type == "OrganizationFormed")
    cutoff = first_formed.recorded_at - __import__("datetime").timedelta(seconds=1)
    as_of = schemas()
    replay_into(engine, settings.kafka_bootstrap, as_of, REGISTRY, window=Window(until=cutoff),
                topics=tuple(topics.values()))
    with engine.connect() as conn:
        city = queries.counters_by(conn, as_of, "city")["city"]
    # R3: E1, E6, E11 and E13 have 3 or more formal members and no organization yet.
    assert city.baseline == 12 and city.organization_covered == 0 and city.r3_violations == 4
