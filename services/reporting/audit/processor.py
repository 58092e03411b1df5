"""The audit processor: every event of every topic, appended to the Merkle log in batches.

Consumed with the shared projection consumer, so a batch's log rows and its
offsets commit together (no event lost or doubled across crashes); the
consumer skips duplicates by event_id (its per-event marks, not the stream
version guard the other projections use: the log's leaves are per event, and
its exactly-once rests on the event id whatever the order it is consumed in)
and the log's UNIQUE(event_id) and ``AuditLogStore.append`` skip them again.
No upcasting: the log keeps the bytes as published.
"""

from collections.abc import Callable

from sqlalchemy.engine import Connection

from platform_core.envelope import EventEnvelope
from platform_core.kafka_io import EVENT_TOPICS
from platform_core.projection_consumer import DEDUPE_BY_EVENT_ID, ProjectionSpec

from .store import AuditLogStore

AUDIT_GROUP = "reporting-audit-log"


def log_order(envelopes: list[EventEnvelope]) -> list[EventEnvelope]:
    """A batch (grouped by partition as consumed) in recorded order. A stream's events keep
    their consumed order even if a clock stepped back: each sorts by the latest recorded_at
    of its stream so far, and the sort is stable."""
    latest: dict[str, object] = {}
    keyed = []
    for envelope in envelopes:
        key = max(latest.get(envelope.stream_id, envelope.recorded_at), envelope.recorded_at)
        latest[envelope.stream_id] = key
        keyed.append((key, envelope))
    return [envelope for _, envelope in sorted(keyed, key=lambda pair: pair[0])]


def audit_projection(schema: str, topics: tuple[str, ...] = EVENT_TOPICS,
                     group_id: str = AUDIT_GROUP, on_start: Callable[[], None] | None = None) -> ProjectionSpec:
    store = AuditLogStore(schema)

    def append_batch(conn: Connection, envelopes: list[EventEnvelope]) -> None:
        store.append(conn, log_order(envelopes))

    return ProjectionSpec(group_id=group_id, topics=tuple(topics), batch_handler=append_batch, name="audit-log",
                          on_start=on_start, dedupe=DEDUPE_BY_EVENT_ID)
