"""An isolated registry with its intake on the shared driver: scratch schema, scratch event topic, scratch intake
departments (their own intake topics); outcomes on the departments' real results topics."""

import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from sqlalchemy.engine import Engine

from platform_core.intake.applier import IntakeApplier
from platform_core.intake.cloudevents import CloudEvent, encode_binary
from platform_core.intake.departments import IntakeDepartment, intake_topics
from platform_core.kafka_io import DeadLetterPublisher, create_producer, ensure_topics, kafka_options
from platform_core.projection_consumer import ProjectionConsumer
from registry.entrypoints.intake import intake_commands

REGISTER = "cn.gov.wuhan.campaign.registry.register-entity.v1"
FLAG = "cn.gov.wuhan.campaign.registry.flag-entity.v1"


def scratch_departments() -> dict[str, IntakeDepartment]:
    tag = uuid.uuid4().hex[:8]
    return {"district": IntakeDepartment(f"t{tag}-district-420102", "district_org", "420102"),
            "other_district": IntakeDepartment(f"t{tag}-district-420103", "district_org", "420103"),
            "market": IntakeDepartment(f"t{tag}-market-regulation", "market_regulation")}


# A command's ce_source before it is sent: ``Intake.send`` gives it the sending department's own source.
SENDER = ""


def command(ce_type: str, data, ce_id: str | None = None, **attributes) -> CloudEvent:
    return CloudEvent(ce_id or str(uuid.uuid4()), attributes.pop("source", SENDER), ce_type, data, **attributes)


@dataclass
class Intake:
    """The registry's intake applier over a scratch schema, driven by the shared ProjectionConsumer."""

    engine: Engine
    bootstrap: str
    registry: object  # the service object its commands run on (RegistryContext, Membership)
    schema: str
    departments: dict[str, IntakeDepartment]
    service: str = "registry"
    commands: object = intake_commands  # the service's intake_commands(service object)
    producer: KafkaProducer = field(init=False)

    def __post_init__(self):
        ensure_topics(self.bootstrap, 3, intake_topics(tuple(self.departments.values())))
        self.producer = create_producer(self.bootstrap, "intake-tests")

    def consumer(self, group: str | None = None) -> ProjectionConsumer:
        applier = IntakeApplier(self.service, self.schema, self.engine, self.commands(self.registry),
                                tuple(self.departments.values()), (self.service,), DeadLetterPublisher(self.producer),
                                self.producer, group_id=group or f"{self.service}.intake-{uuid.uuid4().hex[:8]}")
        return ProjectionConsumer(self.engine, self.bootstrap, [d.topic for d in self.departments.values()], applier)

    def send(self, who: str, *events: CloudEvent, structured: bool = False) -> None:
        from platform_core.intake.cloudevents import encode_structured

        for event in events:
            if event.source == SENDER:
                event = replace(event, source=self.departments[who].source)
            headers, value = (encode_structured if structured else encode_binary)(event)
            self.producer.send(self.departments[who].topic, key=b"k", value=value, headers=headers)
        self.producer.flush()

    def send_raw(self, who: str, value: bytes, headers: list) -> None:
        self.producer.send(self.departments[who].topic, key=b"k", value=value, headers=headers).get(timeout=30)

    def drain(self, consumer: ProjectionConsumer, seconds: float = 20.0, until=None) -> None:
        """Poll until ``until()`` holds (or nothing more comes in ``seconds``)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            consumer.poll_once(timeout_ms=300)
            if until is not None and until():
                return


def results_end(bootstrap: str, departments) -> dict:
    """The ends of these departments' results topics now: their next outcomes come after."""
    consumer = KafkaConsumer(**kafka_options(bootstrap), group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(d.results_topic, p) for d in departments
                      for p in consumer.partitions_for_topic(d.results_topic)]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def outcomes(bootstrap: str, start: dict, department: IntakeDepartment, expected: int, timeout: float = 30.0) -> list:
    """The outcomes published on ``department``'s results topic since ``start``: (value bytes, headers)."""
    consumer = KafkaConsumer(**kafka_options(bootstrap), group_id=None, enable_auto_commit=False)
    found, deadline = [], time.monotonic() + timeout
    own = {partition: offset for partition, offset in start.items() if partition.topic == department.results_topic}
    try:
        consumer.assign(list(own))
        for partition, offset in own.items():
            consumer.seek(partition, offset)
        while len(found) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                found += [(r.value, dict(r.headers)) for r in batch if r.key == department.name.encode()]
    finally:
        consumer.close()
    return found


def decoded(found: list) -> list[dict]:
    return [json.loads(value) for value, _ in found]


def count_rows(engine: Engine, table: str, where: str = "TRUE") -> int:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()


@contextmanager
def service_intake(settings, engine, client, service: str, commands):
    """``service``'s intake over the schema of its test app (``client``), for three scratch departments."""
    found = Intake(engine, settings.kafka_bootstrap, getattr(client.app.state, service), service, scratch_departments(),
                   service=service, commands=commands)
    try:
        yield found
    finally:
        found.producer.close(timeout=5)
