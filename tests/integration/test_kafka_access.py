"""Authentication and ACLs on the real broker (docs/security.md, "Kafka"): only registry's relay may put an event
on registry.events. Every other client, with no credentials, a wrong password or another process's
credentials, is refused, and nothing it sent is in the topic (so nothing can reach a projection or the
audit log). Each attacker writes a record carrying a marker of its own; the topic is then read from the end
offsets taken before the attempts (as the admin) and must hold none of them."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from platform_core.envelope import Actor, EventEnvelope
from platform_core.kafka_io import kafka_options
from platform_core.local_processes import process_environment, stack_module
from platform_core.services import SERVICE_NAMES
from platform_core.settings import PlatformSettings

TOPIC = "registry.events"


def login_of(process: str) -> dict:
    """kafka-python options for ``process``'s principal, built the way the process builds them."""
    environment = process_environment(process)
    settings = PlatformSettings(**{key.removeprefix("CAMPAIGN_").lower(): value for key, value in environment.items()
                                   if key.startswith("CAMPAIGN_KAFKA_")})
    return kafka_options(settings=settings)


def forged_event(marker: str) -> bytes:
    """A well-formed EntityRegistered: what a projection or the audit log would take if it got through."""
    return EventEnvelope(event_id=uuid.uuid4(), type="EntityRegistered", schema_version=1,
                         stream_id=f"entity-{uuid.uuid4()}", stream_version=1, occurred_at="2016-09-01T00:00:00Z",
                         recorded_at="2016-09-01T00:00:00Z", actor=Actor(department="city_org", user=marker),
                         payload={"name": marker}).canonical_bytes()


def attempt(options: dict, marker: str) -> str:
    """Try to produce the forged event; return how the broker refused it (or 'accepted')."""
    try:
        producer = KafkaProducer(**options, acks="all", request_timeout_ms=5000, max_block_ms=10000, retries=0)
    except KafkaError as exc:
        return f"no connection: {type(exc).__name__}"
    try:
        producer.send(TOPIC, key=b"forged", value=forged_event(marker)).get(timeout=15)
        return "accepted"
    except KafkaError as exc:
        return type(exc).__name__
    finally:
        producer.close(timeout=5)


def end_offsets(admin_options: dict) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(**admin_options, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC)]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def records_since(admin_options: dict, start: dict[TopicPartition, int]) -> list[bytes]:
    consumer = KafkaConsumer(**admin_options, group_id=None, enable_auto_commit=False, consumer_timeout_ms=3000)
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        ends = consumer.end_offsets(list(start))
        values, deadline = [], time.monotonic() + 30
        while any(consumer.position(p) < ends[p] for p in start) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                values.extend(record.value or b"" for record in batch)
        return values
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def admin() -> dict:
    return login_of("operator")


def test_only_registrys_relay_may_write_registry_events_and_nothing_forged_gets_in(admin, engine):
    settings = stack_module().load_settings()
    plain = {"bootstrap_servers": f"127.0.0.1:{settings.kafka_port}"}
    wrong_password = {**login_of("registry-relay"), "sasl_plain_password": "not-the-password-of-registry-relay"}
    attackers = {
        "no credentials": plain,
        "a wrong password": wrong_password,
        "membership's relay": login_of("membership-relay"),
        "the registry app": login_of("registry"),
        "formation's consumer": login_of("formation-consumer"),
        "the reporting processor": login_of("reporting-processor"),
        "the reporting app": login_of("reporting"),
    }
    before = end_offsets(admin)
    markers = {who: f"forged-by-{who}-{uuid.uuid4()}" for who in attackers}
    # at once: each refused client waits out its own timeouts (up to max_block_ms), they need not queue
    with ThreadPoolExecutor(len(attackers)) as pool:
        futures = {who: pool.submit(attempt, options, markers[who]) for who, options in attackers.items()}
    outcomes = {who: future.result() for who, future in futures.items()}
    assert "accepted" not in outcomes.values(), outcomes
    assert outcomes["no credentials"].startswith("no connection")
    assert outcomes["a wrong password"].startswith("no connection")
    assert {outcomes[who] for who in attackers if who not in ("no credentials", "a wrong password")} == {
        "TopicAuthorizationFailedError"}

    written = records_since(admin, before)
    assert not [value for value in written if any(m.encode() in value for m in markers.values())]
    with engine.connect() as conn:  # and so, in neither the audit log nor a projection
        for marker in markers.values():
            assert not conn.execute(sa.text("SELECT count(*) FROM reporting.audit_log WHERE position(CAST(:m AS bytea)"
                                            " IN canonical) > 0"), {"m": marker}).scalar()


def test_consumers_read_only_their_topics_in_their_own_groups():
    # membership's consumer projects registry.events and formation.events, in groups named membership.*
    consumer = login_of("membership-consumer")
    assert _assigned(consumer, "registry.events", f"membership.roles-test-{uuid.uuid4().hex[:6]}")
    assert _assigned(consumer, "formation.events", f"membership.roles-test-{uuid.uuid4().hex[:6]}")
    assert not _assigned(consumer, "reporting.events", f"membership.roles-test-{uuid.uuid4().hex[:6]}")
    assert not _assigned(consumer, "registry.events", "formation.upstream")


def _assigned(options: dict, topic: str, group: str) -> bool:
    """Whether joining ``group`` on ``topic`` gets partitions within a few seconds (the broker leaves out the
    topics the principal may not read, and refuses groups it may not use)."""
    consumer = KafkaConsumer(**options, group_id=group, enable_auto_commit=False, session_timeout_ms=6000,
                             heartbeat_interval_ms=1000, request_timeout_ms=10000)
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not consumer.assignment():
            consumer.poll(timeout_ms=500)
        return bool(consumer.assignment())
    except KafkaError:
        return False
    finally:
        consumer.close()


def test_only_the_admin_administers_topics(admin):
    name = f"roles-test.{uuid.uuid4().hex[:8]}"
    refused = KafkaAdminClient(**login_of("registry-relay"), request_timeout_ms=10000)
    try:
        from kafka.admin import NewTopic
        with pytest.raises(KafkaError):
            refused.create_topics([NewTopic(name, 1, 1)])
        with pytest.raises(KafkaError):
            refused.delete_topics([TOPIC])
    finally:
        refused.close()


def test_the_controller_listener_refuses_anonymous_clients():
    settings = stack_module().load_settings()
    with pytest.raises(KafkaError):
        KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{settings.kafka_controller_port}", request_timeout_ms=5000,
                         api_version_auto_timeout_ms=5000).describe_cluster()


def test_every_consumer_group_and_topic_of_the_code_has_its_acl():
    """The table (deploy/stack/kafka_access.py) covers what each consumer of the code reads, and in which group
    (membership's and formation's consumers: tests/deploy/test_consumer_access.py, from their projections)."""
    from platform_core.kafka_io import EVENT_TOPICS
    from reporting.adapters.projection_store import PROJECTION_GROUP
    from reporting.audit.processor import AUDIT_GROUP

    access = stack_module().KAFKA_ACCESS
    uses = {"reporting-consumer": ([AUDIT_GROUP, f"{AUDIT_GROUP}-e2e_reporting_x"], list(EVENT_TOPICS)),
            "reporting-processor": ([PROJECTION_GROUP], list(EVENT_TOPICS)),
            "reporting": ([], list(EVENT_TOPICS))}
    for principal, (groups, topics) in uses.items():
        row = access[principal]
        assert set(topics) <= set(row.reads), principal
        assert all(any(g.startswith(prefix) for prefix in row.group_prefixes) for g in groups), principal
        assert row.dead_letters, principal
    for service in SERVICE_NAMES:
        assert access[f"{service}-relay"].writes == (f"{service}.events",)
