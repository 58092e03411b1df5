"""The reference client of the Kafka intake (``campaign intake send``): reads commands from a JSON Lines file,
sends them to the department's intake topic as CloudEvents in binary mode, and waits for their outcomes on
intake.<department>.results (docs/intake.md). The CLI only parses arguments and draws the progress."""

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ..kafka_io import kafka_options
from .cloudevents import CloudEvent, encode_binary
from .command_types import NAMESPACE, parse_command_type
from .departments import IntakeDepartment


FILE_IDS = uuid.UUID("6f1c1f0e-52b8-4bde-9a34-0c6b3d1e2a10")  # the namespace of ids derived from a file's lines


class CommandFileError(ValueError):
    pass


def read_commands(path: Path, department: IntakeDepartment) -> list[CloudEvent]:
    """One command per line: ``{"type": ..., "data": {...}}`` with optional ``id`` and ``subject``. The id is
    the idempotency key; without one it is derived from the department, the line number and the line, so
    sending the same file again runs nothing twice. ``type`` is a full ce_type or
    ``<service>.<command>`` (version 1)."""
    commands = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise CommandFileError(f"{path}:{number}: not JSON ({exc})") from None
        if not isinstance(row, dict) or not isinstance(row.get("type"), str) or not isinstance(row.get("data"), dict):
            raise CommandFileError(f"{path}:{number}: each line needs \"type\" (a string) and \"data\" (an object)")
        ce_type = row["type"] if row["type"].startswith(NAMESPACE) else f"{NAMESPACE}.{row['type']}.v1"
        if parse_command_type(ce_type) is None:
            raise CommandFileError(f"{path}:{number}: {row['type']!r} names no command (<service>.<command>)")
        ce_id = row.get("id") or uuid.uuid5(FILE_IDS, f"{department.name}:{number}:{line.strip()}")
        commands.append(CloudEvent(str(ce_id), f"/departments/{department.name}", ce_type,
                                   row["data"], subject=row.get("subject")))
    return commands


@dataclass
class Sent:
    outcomes: dict[str, dict] = field(default_factory=dict)  # ce_id -> its outcome
    waiting: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
        return counts


def send_and_wait(department: IntakeDepartment, commands: list[CloudEvent], timeout_s: float = 120.0,
                  progress: Callable[[str, int], None] = lambda stage, n: None, bootstrap: str | None = None) -> Sent:
    """Send ``commands`` and collect one outcome per ce_id (``progress("sent"|"answered", n)`` as they go)."""
    options = kafka_options(bootstrap)
    results = KafkaConsumer(**options, group_id=None, enable_auto_commit=False, client_id="campaign-intake-client")
    producer = KafkaProducer(**options, acks="all", enable_idempotence=True, linger_ms=5,
                             client_id="campaign-intake-client")
    sent = Sent(waiting={c.id for c in commands})
    try:
        # The results' ends before sending: every outcome of these commands comes after them.
        topic = department.results_topic
        partitions = [TopicPartition(topic, p) for p in results.partitions_for_topic(topic) or ()]
        results.assign(partitions)
        results.seek_to_end()
        for partition in partitions:
            results.position(partition)
        for number, event in enumerate(commands, start=1):
            headers, value = encode_binary(event)
            producer.send(department.topic, key=(event.subject or event.id).encode("utf-8"), value=value,
                          headers=headers)
            if number % 500 == 0 or number == len(commands):
                producer.flush()
                progress("sent", number)
        deadline = time.monotonic() + timeout_s
        key = department.name.encode("utf-8")
        while sent.waiting and time.monotonic() < deadline:
            for batch in results.poll(timeout_ms=500).values():
                for record in batch:
                    if record.key != key:
                        continue
                    outcome = json.loads(record.value)
                    if outcome.get("ce_id") in sent.waiting:
                        sent.waiting.discard(outcome["ce_id"])
                        sent.outcomes[outcome["ce_id"]] = outcome
            progress("answered", len(sent.outcomes))
    finally:
        producer.close(timeout=10)
        results.close()
    return sent
