"""Projection updates and consumed offsets commit together: a SIGKILL mid-batch neither
loses nor double-counts, duplicates are skipped, malformed messages are dead-lettered."""

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaConsumer

from platform_core.envelope import Actor
from platform_core.events import NewEvent
from platform_core.kafka_io import DEAD_LETTER_TOPIC, create_producer, kafka_options
from platform_core.outbox_relay import OutboxRelay

RUNNER = Path(__file__).with_name("projection_runner.py")
ACTOR = Actor(department="district:420103", user="clerk")


def fill_and_publish(store, engine, schema, settings, streams=20, per_stream=30) -> dict[str, tuple[int, int]]:
    expected = {}
    for s in range(streams):
        stream = f"entity-{s}"
        events = [NewEvent("EntityProfileUpdated", {"employees": s * 100 + v}) for v in range(per_stream)]
        store.append(stream, 0, events, ACTOR)
        expected[stream] = (per_stream, sum(e.payload["employees"] for e in events))
    producer = create_producer(settings.kafka_bootstrap, "test-relay")
    relay = OutboxRelay(engine, schema, producer)
    while relay.publish_batch():
        pass
    producer.close()
    return expected


def make_table(engine, schema) -> str:
    table = f"totals_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {schema}.{table} (stream_id TEXT PRIMARY KEY, events INT, employees BIGINT)"))
    return table


def projection(engine, schema, table) -> dict[str, tuple[int, int]]:
    with engine.connect() as conn:
        return {r.stream_id: (r.events, r.employees)
                for r in conn.execute(sa.text(f"SELECT * FROM {schema}.{table}"))}


def runner_command(settings, schema, topic, group, table, kill_at=0, delay_ms=0) -> list[str]:
    return [sys.executable, str(RUNNER), settings.database_url, settings.kafka_bootstrap,
            schema, topic, group, table, str(kill_at), str(delay_ms)]


def run_projection(settings, schema, topic, group, table, kill_at=0) -> subprocess.CompletedProcess:
    return subprocess.run(runner_command(settings, schema, topic, group, table, kill_at),
                          capture_output=True, timeout=180)


def test_consumer_killed_mid_batch_equals_a_fresh_replay(store, engine, schema, topic, settings):
    expected = fill_and_publish(store, engine, schema, settings)
    table, group = make_table(engine, schema), f"g-{uuid.uuid4().hex[:8]}"

    killed = run_projection(settings, schema, topic, group, table, kill_at=250)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    partial = projection(engine, schema, table)
    assert sum(events for events, _ in partial.values()) < 250  # the batch in flight was rolled back

    resumed = run_projection(settings, schema, topic, group, table)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    assert projection(engine, schema, table) == expected

    fresh_table = make_table(engine, schema)
    fresh = run_projection(settings, schema, topic, f"fresh-{group}", fresh_table)
    assert fresh.returncode == 0, fresh.stderr.decode()[-2000:]
    assert projection(engine, schema, fresh_table) == projection(engine, schema, table)


def test_members_joining_one_group_mid_stream_share_it_and_apply_each_event_once(
        store, engine, schema, topic, settings):
    """The scale-out lever (several `campaign consume` processes in one group): members that join while
    the first is busy take over partitions (rebalances mid-stream), and every event counts once."""
    import time

    expected = fill_and_publish(store, engine, schema, settings, streams=20, per_stream=60)
    table, group = make_table(engine, schema), f"g-{uuid.uuid4().hex[:8]}"
    members, applied = [], []
    try:
        for _ in range(3):  # 1,200 events at 5 ms each: ~6 s for one member alone
            members.append(subprocess.Popen(runner_command(settings, schema, topic, group, table, delay_ms=5),
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
            time.sleep(0.7)
        for member in members:
            out, err = member.communicate(timeout=180)
            assert member.returncode == 0, err.decode()[-2000:]
            applied.append(int(out.decode().split("caught up after ")[1].split()[0]))
    finally:
        for member in members:  # none left running when an assertion failed
            if member.poll() is None:
                member.kill()
                member.wait()
    assert projection(engine, schema, table) == expected
    assert sum(applied) == 1200, applied  # no event applied by two members
    assert sum(1 for n in applied if n) >= 2, applied  # the later members did take partitions over


def test_duplicates_are_counted_once_and_malformed_messages_are_dead_lettered(store, engine, schema, topic, settings):
    expected = fill_and_publish(store, engine, schema, settings, streams=3, per_stream=5)
    # at-least-once delivery: publish every event a second time, plus two broken messages
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT stream_id, canonical FROM {schema}.events")).all()
    producer = create_producer(settings.kafka_bootstrap, "duplicator")
    for row in rows:
        producer.send(topic, key=row.stream_id.encode(), value=bytes(row.canonical))
    producer.send(topic, key=b"junk", value=b"{not json")
    producer.send(topic, key=b"junk", value=b'{"event_id": "not-a-uuid"}')
    producer.flush()
    producer.close()

    table, group = make_table(engine, schema), f"g-{uuid.uuid4().hex[:8]}"
    done = run_projection(settings, schema, topic, group, table)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert projection(engine, schema, table) == expected

    letters = KafkaConsumer(DEAD_LETTER_TOPIC, **kafka_options(settings.kafka_bootstrap),
                            auto_offset_reset="earliest", consumer_timeout_ms=5000)
    ours = [r for r in letters if dict(r.headers).get("dlq.topic") == topic.encode()]
    letters.close()
    assert len(ours) == 2
    reasons = [dict(r.headers)["dlq.reason"].decode() for r in ours]
    assert all(reason.startswith("unreadable: malformed event envelope") for reason in reasons)
    assert {r.value for r in ours} == {b"{not json", b'{"event_id": "not-a-uuid"}'}


def test_an_event_the_handler_rejects_is_dead_lettered_and_the_rest_of_its_batch_applied(
        store, engine, schema, topic, settings):
    from platform_core.kafka_io import DeadLetterPublisher
    from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer

    fill_and_publish(store, engine, schema, settings, streams=2, per_stream=10)
    table = make_table(engine, schema)

    def handler(conn, envelope):
        if envelope.payload["employees"] == 105:
            raise ValueError("employees 105 is not plausible here")
        conn.execute(sa.text(f"INSERT INTO {schema}.{table} VALUES (:s, 1, :e) ON CONFLICT (stream_id) DO UPDATE"
                             f" SET events = {table}.events + 1, employees = {table}.employees + EXCLUDED.employees"),
                     {"s": envelope.stream_id, "e": envelope.payload["employees"]})

    producer = create_producer(settings.kafka_bootstrap, "dlq-test")
    applier = ProjectionApplier(schema, f"g-{uuid.uuid4().hex[:8]}", handler, None, DeadLetterPublisher(producer))
    consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, [topic], applier)
    applied = dead = 0
    for _ in range(30):
        outcome = consumer.poll_once(timeout_ms=500)
        applied, dead = applied + outcome.applied, dead + outcome.dead_lettered
        if applied + dead == 20:
            break
    consumer.consumer.close()
    producer.close()
    assert (applied, dead) == (19, 1)
    assert projection(engine, schema, table) == {"entity-0": (10, 45), "entity-1": (9, sum(range(100, 110)) - 105)}


def test_consumers_started_on_a_busy_machine_all_get_their_partitions(engine, schema, topic, settings):
    """kafka-python loses the metadata update ``subscribe`` asks for while its bootstrap request is in
    flight; a group joined then stays without partitions for minutes. Under CPU load (as in CI) that
    hit about 1 consumer in 9 before ProjectionConsumer fetched the partitions first."""
    import time

    from platform_core.kafka_io import DeadLetterPublisher
    from platform_core.projection_consumer import ProjectionApplier, ProjectionConsumer

    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    producer = create_producer(settings.kafka_bootstrap, "join-test")
    without_partitions = []
    try:
        for n in range(20):
            applier = ProjectionApplier(schema, f"join-{uuid.uuid4().hex[:8]}", lambda conn, e: None, None,
                                        DeadLetterPublisher(producer))
            consumer = ProjectionConsumer(engine, settings.kafka_bootstrap, [topic], applier)
            deadline = time.monotonic() + 10
            while not consumer.consumer.assignment() and time.monotonic() < deadline:
                consumer.poll_once(timeout_ms=50)
            if len(consumer.consumer.assignment()) != 3:
                without_partitions.append(n)
            consumer.consumer.close()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
        producer.close()
    assert without_partitions == [], f"consumers {without_partitions} of 20 got no partitions within 10 s"


def test_a_failure_it_does_not_retry_stops_every_projection_of_the_process(store, engine, schema, topic, settings):
    """A handler's defect (not a rejection, not the database or the broker going away) must not leave the
    process alive with one projection standing still: every thread stops, nothing of the failed batch is
    committed, and run_projections raises, so `campaign consume` exits non-zero for its supervisor."""
    import threading

    from platform_core.projection_consumer import ProjectionFailed, ProjectionSpec, run_projections

    fill_and_publish(store, engine, schema, settings, streams=2, per_stream=3)
    table = make_table(engine, schema)
    healthy, broken = f"g-healthy-{uuid.uuid4().hex[:8]}", f"g-broken-{uuid.uuid4().hex[:8]}"

    def count(conn, envelopes):
        for envelope in envelopes:
            conn.execute(sa.text(f"INSERT INTO {schema}.{table} VALUES (:s, 1, 0) ON CONFLICT (stream_id)"
                                 f" DO UPDATE SET events = {table}.events + 1"), {"s": envelope.stream_id})

    def defect(conn, envelopes):
        raise RuntimeError("a bug in the handler")

    specs = [ProjectionSpec(healthy, (topic,), batch_handler=count, name="healthy"),
             ProjectionSpec(broken, (topic,), batch_handler=defect, name="broken")]
    stop, outcome = threading.Event(), {}

    def run():
        try:
            run_projections(engine, settings.kafka_bootstrap, schema, specs, stop)
        except ProjectionFailed as exc:
            outcome["failed"] = str(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=120)
    stop.set()
    assert not thread.is_alive(), "the process's projections kept running after one failed"
    assert broken in outcome.get("failed", ""), outcome
    with engine.connect() as conn:
        stored = conn.execute(sa.text(f"SELECT count(*) FROM {schema}.consumer_offsets WHERE group_id = :g"),
                              {"g": broken}).scalar_one()
    assert stored == 0  # the failed batch committed nothing: a restart starts it again
