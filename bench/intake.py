"""Intake benchmark: commands/s end to end through the Kafka intake, beside the raw produce loop.

From the first produce to the last outcome published on intake.<department>.results, with every command's event appended
and relayed: N ``register-entity`` CloudEvents on a scratch department's intake topic, the registry's intake
(IntakeApplier on the shared ProjectionConsumer, one process) and the outbox relay running meanwhile, on a
scratch registry schema and scratch topics (removed afterwards).

Run: eval "$(python3 deploy/stack.py env)"; .venv/bin/python bench/intake.py --commands 5000
"""

import argparse
import random
import sys
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))

from platform_core.contracts import event_types_for  # noqa: E402
from platform_core.intake.applier import IntakeApplier  # noqa: E402
from platform_core.intake.cloudevents import CloudEvent, encode_binary  # noqa: E402
from platform_core.intake.departments import IntakeDepartment  # noqa: E402
from platform_core.kafka_io import DeadLetterPublisher, create_producer, ensure_topics, kafka_options  # noqa: E402
from platform_core.outbox_relay import OutboxRelay  # noqa: E402
from platform_core.projection_consumer import ProjectionConsumer  # noqa: E402
from platform_core.service import bootstrap_service  # noqa: E402
from platform_core.settings import get_settings  # noqa: E402
from registry.bootstrap import build_registry  # noqa: E402
from registry.domain.uscc import ALPHABET, check_character  # noqa: E402
from registry.entrypoints.intake import intake_commands  # noqa: E402
from scratch import remove_scratch  # noqa: E402

REGISTER = "cn.gov.wuhan.campaign.registry.register-entity.v1"


def _uscc(rng: random.Random) -> str:
    body = "91420100" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def _commands(count: int, source: str) -> list[CloudEvent]:
    rng, codes = random.Random(20160815), set()
    while len(codes) < count:
        codes.add(_uscc(rng))
    return [CloudEvent(str(uuid.uuid4()), source, REGISTER, {
        "kind": "non_public_enterprise", "subtype": "private", "uscc": code, "name": f"武汉基准{n}科技有限公司",
        "street_code": "420102002", "industry": "internet", "employees": 20 + n % 200, "formal_members": n % 4,
        "operation_status": "operating", "person_in_charge": f"负责人{n}", "address": f"中山大道{n}号",
        "no_organization_reason": "党员刚排查出来，正在筹建"})
        for n, code in enumerate(sorted(codes))]


def measure(commands: int, partitions: int = 3) -> dict:
    tag = uuid.uuid4().hex[:8]
    schema, events_topic = f"bench_intake_{tag}", f"bench.intake-events.{tag}"
    department = IntakeDepartment(f"bench{tag}-district-420102", "district_org", "420102")
    context = bootstrap_service("registry", event_types_for("registry"), schema=schema, topic=events_topic)
    settings = context.settings
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1)
                         for t in (events_topic, department.topic)])
    ensure_topics(settings.kafka_bootstrap, partitions, (department.results_topic,))
    context.migrate()
    producer = create_producer(settings.kafka_bootstrap, "bench-intake")
    stop = threading.Event()
    try:
        applier = IntakeApplier("registry", schema, context.engine, intake_commands(build_registry(context)),
                                (department,), ("registry",), DeadLetterPublisher(producer), producer,
                                group_id=f"bench.intake.{tag}")
        consumer = ProjectionConsumer(context.engine, settings.kafka_bootstrap, [department.topic], applier)
        relay = OutboxRelay(context.engine, schema, create_producer(settings.kafka_bootstrap, "bench-intake-relay"))
        relay_thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
        relay_thread.start()
        sent = [encode_binary(event) for event in _commands(commands, f"/departments/{department.name}")]
        consumer.poll_once(timeout_ms=1000)  # joined the group: the clock starts at the first produce
        started = time.perf_counter()

        def produce() -> None:
            for headers, value in sent:
                producer.send(department.topic, value=value, headers=headers)
            producer.flush()

        threading.Thread(target=produce, daemon=True).start()
        done = sa.text(f"SELECT (SELECT count(*) FROM {schema}.intake_outcomes WHERE published_at IS NOT NULL),"
                       f" (SELECT count(*) FROM {schema}.outbox WHERE published_at IS NOT NULL)")
        published = relayed = 0
        deadline = started + max(60, commands / 10)
        while time.perf_counter() < deadline:
            consumer.poll_once(timeout_ms=200)
            with context.engine.connect() as conn:
                published, relayed = conn.execute(done).one()
            if published >= commands and relayed >= commands:
                break
        elapsed = time.perf_counter() - started
        with context.engine.connect() as conn:
            accepted = conn.execute(sa.text(f"SELECT count(*) FROM {schema}.intake_outcomes"
                                            " WHERE outcome LIKE '%\"status\":\"accepted\"%'")).scalar_one()
        consumer.consumer.close()
        if published < commands or relayed < commands or accepted < commands:
            raise RuntimeError(f"intake benchmark: {published} outcomes published ({accepted} accepted), {relayed} "
                               f"events relayed of {commands} commands")
        return {"commands": commands, "seconds": elapsed, "rate": commands / elapsed, "accepted": accepted}
    finally:
        stop.set()
        producer.close(timeout=10)
        remove_scratch(context.engine, schema, admin, [events_topic, department.topic])


def raw_produce_limit(commands: int, rounds: int = 3) -> tuple[float, int]:
    """The raw produce loop of this run (best of ``rounds``): as many plain messages as commands, of a command's
    size, to a scratch topic; (messages/s, bytes)."""
    from pipeline import raw_produce

    settings = get_settings()
    value = encode_binary(_commands(1, "/departments/bench")[0])[1]
    topic = f"bench.intake-raw.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kafka_options(settings.kafka_bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    try:
        return max(raw_produce(settings.kafka_bootstrap, topic, commands, value) for _ in range(rounds)), len(value)
    finally:
        admin.delete_topics([topic])
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=5000)
    args = parser.parse_args()
    m = measure(args.commands)
    raw, size = raw_produce_limit(args.commands)
    print(f"{m['commands']:,} commands in {m['seconds']:.1f} s: {m['rate']:,.0f} commands/s ({m['accepted']:,} accepted); "
          f"raw produce loop ({size} B messages, same run): {raw:,.0f} msg/s; ratio {m['rate'] / raw:.1%}")


if __name__ == "__main__":
    main()
