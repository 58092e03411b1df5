"""What the fault suite checks afterwards: catch-up, the event stores, the audit log, projections
against fresh replays (reporting: replay_into; membership and formation: their own projection
handlers applied from offset 0 into a scratch schema)."""

import uuid

import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition

from platform_core.contracts import event_types_for
from platform_core.db import migrate
from platform_core.kafka_io import EVENT_TOPICS, DeadLetterPublisher, create_producer, kafka_options
from platform_core.projection_consumer import ConsumedRecord, ProjectionApplier
from platform_core.service import service_migrations
from platform_core.services import SERVICE_NAMES as SERVICES
from reporting.adapters.replay import end_offsets


def groups() -> list[tuple[str, str, tuple[str, ...]]]:
    """(schema, group, topics) of every consumer the platform runs."""
    from formation.bootstrap import CHECKPOINT_GROUP, UPSTREAM_GROUP
    from membership.bootstrap import ENTITY_PROJECTION_GROUP
    from reporting.adapters.projection_store import PROJECTION_GROUP
    from reporting.audit.processor import AUDIT_GROUP

    return [("membership", ENTITY_PROJECTION_GROUP, ("registry.events",)),
            ("formation", UPSTREAM_GROUP, ("registry.events", "membership.events")),
            ("formation", CHECKPOINT_GROUP, ("reporting.events",)),
            ("reporting", AUDIT_GROUP, EVENT_TOPICS),
            ("reporting", PROJECTION_GROUP, EVENT_TOPICS)]


def backlog(engine, bootstrap: str) -> dict[str, int]:
    """Unpublished outbox rows per service, and unconsumed records per consumer group (0 = caught up)."""
    found = {}
    ends = end_offsets(bootstrap, EVENT_TOPICS)
    with engine.connect() as conn:
        for schema in SERVICES:
            found[f"{schema} outbox"] = conn.execute(sa.text(
                f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")).scalar_one()
        for schema, group, topics in groups():
            stored = {(r.topic, r.partition): r.next_offset for r in conn.execute(sa.text(
                f"SELECT topic, partition, next_offset FROM {schema}.consumer_offsets WHERE group_id = :g"),
                {"g": group})}
            found[f"{group} lag"] = sum(end - stored.get(tp, 0) for tp, end in ends.items() if tp[0] in topics)
    return found


def audit_size(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM reporting.audit_log")).scalar_one()


def keyed_events(engine, schema: str, keys: list[str]) -> dict[str, list[str]]:
    """Idempotency key -> the event ids its command wrote (absent: the command wrote nothing)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT idempotency_key, event_ids FROM {schema}.idempotency_keys"
                                    " WHERE idempotency_key = ANY(:k)"), {"k": keys}).all()
    return {row.idempotency_key: [str(e) for e in row.event_ids] for row in rows}


def stored_event_ids(engine, schema: str, event_ids: list[str]) -> set[str]:
    with engine.connect() as conn:
        return {str(r[0]) for r in conn.execute(sa.text(
            f"SELECT event_id FROM {schema}.events WHERE event_id = ANY(CAST(:ids AS uuid[]))"), {"ids": event_ids})}


def audit_counts(engine, event_ids: list[str]) -> dict[str, int]:
    with engine.connect() as conn:
        return {str(r[0]): r[1] for r in conn.execute(sa.text(
            "SELECT event_id, count(*) FROM reporting.audit_log WHERE event_id = ANY(CAST(:ids AS uuid[]))"
            " GROUP BY event_id"), {"ids": event_ids})}


def natural_counts(engine, service: str, naturals: list[str], since) -> dict[str, int]:
    """How many times each natural key was written since the run began: entities by USCC, members and
    trade unions by entity, reports by unit and deadline."""
    sql = {
        "registry": "SELECT payload->>'uscc', count(*) FROM registry.events WHERE type = 'EntityRegistered'"
                    " AND payload->>'uscc' = ANY(:n) AND recorded_at >= :since GROUP BY 1",
        "membership": "SELECT payload->>'entity_id', count(*) FROM membership.events WHERE stream_version = 1"
                      " AND payload->>'entity_id' = ANY(:n) AND recorded_at >= :since GROUP BY 1",
        "formation": "SELECT e.id, count(*) FROM formation.events,"
                     " jsonb_array_elements_text(payload->'entity_ids') e(id) WHERE type = 'MassOrganizationFormed'"
                     " AND e.id = ANY(:n) AND recorded_at >= :since GROUP BY 1",
        # since: a rare earlier run on the same stack may have drawn the same random city code
        "reporting": "SELECT (payload->>'unit') || '@' || (payload->>'deadline'), count(*) FROM reporting.events"
                     " WHERE type = 'ReportSubmitted'"
                     " AND (payload->>'unit') || '@' || (payload->>'deadline') = ANY(:n)"
                     " AND recorded_at >= :since GROUP BY 1",
    }[service]
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(sql), {"n": naturals, "since": since}).all())


# -- projections against fresh replays ------------------------------------------------------------------
# The schemas are shared (CI runs every test on one stack; a private stack keeps earlier runs), so the
# comparisons are restricted to this run's own rows: its entities, their members, its events, and the
# checkpoints recorded since it started. rp_meta is left out: its one row counts the events of every
# run the projection ever applied (a replay from the topics' beginning counts only what the topics
# still hold); the run's own share of it is checked exactly instead (run_events_projected).
REPORTING_SCOPE = {
    "rp_entities": "entity_id = ANY(:entities)",
    "rp_approvals": "entity_id = ANY(:entities)",
    "rp_flags": "entity_id = ANY(:entities)",
    "rp_members": "member_id = ANY(:members) OR entity_id = ANY(:entities)",
    "rp_coverage": "entity_id = ANY(:entities)",
    "rp_work": "entity_id = ANY(:entities)",
    "rp_tasks": "entity_id = ANY(:entities)",
    "rp_failed_checks": "entity_ids && CAST(:entities AS text[])",
    "rp_entity_status": "entity_id = ANY(:entities)",
    "rp_reports": "event_id = ANY(:events)",
    "rp_bulletins": "event_id = ANY(:events)",
    "rp_accountability": "event_id = ANY(:events)",
    "rp_ledger_submissions": "event_id = ANY(:events)",
    "rp_coverage_spans": "entity_id = ANY(:entities)",
    "rp_responsibility_reports": "event_id = ANY(:events)",
    "rp_plans": "entity_id = ANY(:entities)",
}
SERVICE_SCOPE = {
    "membership": {"known_entities": "entity_id = ANY(:entities)"},
    "formation": {"known_entities": "entity_id = ANY(:entities)",
                  "pending_approvals": "entity_id = ANY(:entities)",
                  "member_positions": "member_id = ANY(:members) OR entity_id = ANY(:entities)",
                  "member_counted_entities": "entity_id = ANY(:entities)",
                  "audit_checkpoints": "recorded_at >= :since"},
}
REPLAYED_TABLES = {service: tuple(scope) for service, scope in SERVICE_SCOPE.items()}


def run_scope(engine, usccs: list[str], since, units: list[str] = ()) -> dict:
    """This run's entities (by the USCCs it registered), their members, and every event of the run in
    the services' event stores (entity, member and organization events naming them, and the reports of
    its units)."""
    with engine.connect() as conn:
        entities = [r[0] for r in conn.execute(sa.text(
            "SELECT payload->>'entity_id' FROM registry.events WHERE type = 'EntityRegistered'"
            " AND payload->>'uscc' = ANY(:u)"), {"u": usccs})]
        members = [r[0] for r in conn.execute(sa.text(
            "SELECT DISTINCT payload->>'member_id' FROM membership.events WHERE payload->>'entity_id' = ANY(:e)"),
            {"e": entities})]
        events = [str(r[0]) for r in conn.execute(sa.text(
            "SELECT event_id FROM registry.events WHERE payload->>'entity_id' = ANY(:e)"
            " UNION ALL SELECT event_id FROM membership.events WHERE payload->>'member_id' = ANY(:m)"
            " UNION ALL SELECT event_id FROM formation.events WHERE payload->>'entity_id' = ANY(:e)"
            " OR payload->'entity_ids' ?| CAST(:e AS text[])"
            " UNION ALL SELECT event_id FROM reporting.events WHERE type = 'ReportSubmitted'"
            " AND payload->>'unit' = ANY(:u) AND recorded_at >= :since"),
            {"e": entities, "m": members, "u": list(units), "since": since})]
    return {"entities": entities, "members": members, "events": events, "since": since}


def scoped_dump(engine, schema: str, scope: dict[str, str], params: dict) -> dict[str, list[tuple]]:
    """The rows of each table its condition selects, as sorted text tuples."""
    found = {}
    with engine.connect() as conn:
        for table, condition in scope.items():
            rows = conn.execute(sa.text(f"SELECT * FROM {schema}.{table} WHERE {condition}"), params).all()
            found[table] = sorted(tuple(str(v) for v in row) for row in rows)
    return found


def unprojected(engine, schema: str, group: str, event_ids: list[str]) -> list[str]:
    """The run's events that the projection group never applied (skipped, not just late): an event is
    applied once its stream's stored version (``stream_versions``, keyed by the event's topic) reached it."""
    found = {}
    with engine.connect() as conn:
        for service in SERVICES:
            for row in conn.execute(sa.text(
                    f"SELECT CAST(e.event_id AS text), v.version >= e.stream_version FROM {service}.events e"
                    f" LEFT JOIN {schema}.stream_versions v ON v.group_id = :g AND v.topic = :t"
                    " AND v.stream_id = e.stream_id WHERE e.event_id = ANY(CAST(:ids AS uuid[]))"),
                    {"g": group, "t": f"{service}.events", "ids": event_ids}):
                found[row[0]] = bool(row[1])
    return [e for e in event_ids if not found.get(e)]


def drop_schema(engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def replay_service(engine, bootstrap: str, service: str, scratch: str) -> None:
    """The service's own projection specs, bound to ``scratch``, fed every record from offset 0 to the
    end offsets seen now (an assigned consumer: no consumer group joins the live one)."""
    migrate(engine, scratch, service_migrations(service))
    if service == "membership":
        from membership.handlers.entity_projection import entity_projection

        specs = [(("registry.events",), entity_projection(scratch), None, None)]
    else:
        from formation.adapters.tables import tables
        from formation.handlers.projections import checkpoint_projection, upstream_projection

        bound = tables(scratch)
        specs = [(("registry.events", "membership.events"), None, upstream_projection(bound),
                  event_types_for("registry", "membership")),
                 (("reporting.events",), None, checkpoint_projection(bound), event_types_for("reporting"))]
    producer = create_producer(bootstrap, f"{scratch}-dead-letters")
    try:
        for topics, handler, batch_handler, registry in specs:
            applier = ProjectionApplier(scratch, f"replay-{uuid.uuid4().hex[:8]}", handler, registry,
                                        DeadLetterPublisher(producer), batch_handler=batch_handler)
            ends = end_offsets(bootstrap, topics)
            consumer = KafkaConsumer(**kafka_options(bootstrap), group_id=None, enable_auto_commit=False,
                                     client_id="fault-suite-replay", max_poll_records=2000)
            try:
                partitions = [TopicPartition(t, p) for (t, p), end in ends.items() if end > 0]
                consumer.assign(partitions)
                consumer.seek_to_beginning(*partitions)
                remaining = {(tp.topic, tp.partition) for tp in partitions}
                while remaining:
                    polled = consumer.poll(timeout_ms=1000)
                    records = []
                    for tp, batch in polled.items():
                        for r in batch:
                            if r.offset < ends[(tp.topic, tp.partition)]:
                                records.append(ConsumedRecord(r.topic, r.partition, r.offset, r.value))
                        if consumer.position(tp) >= ends[(tp.topic, tp.partition)]:
                            remaining.discard((tp.topic, tp.partition))
                    if records:
                        with engine.begin() as conn:
                            applier.apply(conn, records)
            finally:
                consumer.close()
    finally:
        producer.close(timeout=10)
