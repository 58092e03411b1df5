"""The projection's batch handler: events in, projection rows out, inside the caller's transaction.

The live ProjectionConsumer passes batches to ``platform_core.projection_consumer.ProjectionApplier``
with this handler, so offsets and rows commit together.
"""

from collections.abc import Iterable

from sqlalchemy.engine import Connection

from platform_core.envelope import EventEnvelope
from reporting.adapters.projection_store import ProjectionStore
from reporting.adapters.record_rows import RecordRows
from reporting.domain.window import Window

ENTITY_KEYS = ("entity_id", "to_entity_id", "from_entity_id", "duplicate_of")
ENTITY_LIST_KEYS = ("entity_ids", "remaining_entity_ids")


def batch_keys(envelopes: Iterable[EventEnvelope]) -> tuple[set[str], set[str], set[str]]:
    """The entities, members and organizations a batch's events name."""
    entities, members, organizations = set(), set(), set()
    for envelope in envelopes:
        p = envelope.payload
        entities.update(p[k] for k in ENTITY_KEYS if isinstance(p.get(k), str))
        for k in ENTITY_LIST_KEYS:
            entities.update(p.get(k) or ())
        if isinstance(p.get("member_id"), str):
            members.add(p["member_id"])
        organizations.update(p[k] for k in ("organization_id", "new_organization_id") if isinstance(p.get(k), str))
    return entities, members, organizations


def projection_handler(schema: str, window: Window | None = None):
    """The batch handler: raw state, the touched entities' statuses and the record rows."""
    store = ProjectionStore(schema)
    window = window or Window()

    def handle(conn: Connection, envelopes: list[EventEnvelope]) -> None:
        envelopes = [e for e in envelopes if window.admits(e)]
        if not envelopes:
            return
        lists = {f"{e.payload['department']}:{e.payload.get('territory') or ''}" for e in envelopes
                 if e.type == "VerificationListImported"}
        state = store.load(conn, *batch_keys(envelopes), federation_lists=lists)
        records = RecordRows()
        for envelope in envelopes:
            state.apply(envelope.type, envelope.payload, str(envelope.event_id), envelope.recorded_at)
            records.collect(envelope)
        store.save(conn, state)
        store.write_touched_statuses(conn, state)
        records.write(conn, schema)
        store.note_applied(conn, len(envelopes), max(e.recorded_at for e in envelopes))

    return handle
