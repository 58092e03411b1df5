"""Events of a topic go through Kafka into the log once each; checkpoints are signed on demand
and on growth, never because of their own CheckpointSigned events; the export verifies offline."""

import json
import uuid

from audit_fixtures import (  # noqa: F401 (fixture)
    ORIGIN, audit_schema, make_signer, publish_outbox, reporting_store, run_audit_processor, signer_process,
)
from platform_core.envelope import Actor
from platform_core.events import NewEvent
from platform_core.kafka_io import create_producer
from reporting.audit.export import export_bundle
from platform_core.merkle import MemoryTree
from platform_core.signed_note import Checkpoint
from reporting.audit.store import AuditLogStore
from reporting.audit.verify import verify_files

ACTOR = Actor(department="district_org:420102", user="clerk")


def append_entities(store, count: int, per_entity: int = 3) -> None:
    for _ in range(count):
        stream = f"entity-{uuid.uuid4()}"
        store.append(stream, 0, [NewEvent("EntityProfileUpdated", {"employees": v, "division_code": "420102"})
                                 for v in range(per_entity)], ACTOR)


def test_pipeline_logs_each_event_once_and_checkpoints_verify(engine, settings, audit_schema, topic, tmp_path,
                                                              signer_process):
    events = reporting_store(engine, audit_schema, topic)
    append_entities(events, 10)
    publish_outbox(engine, audit_schema, settings.kafka_bootstrap)
    assert run_audit_processor(engine, settings.kafka_bootstrap, audit_schema, topic, 30) == 30

    # at-least-once delivery: the same events published again are not logged again
    with engine.connect() as conn:
        canonical = [bytes(r[0]) for r in conn.exec_driver_sql(f"SELECT canonical FROM {audit_schema}.events")]
    producer = create_producer(settings.kafka_bootstrap, "duplicator")
    for data in canonical[:10]:
        producer.send(topic, value=data)
    producer.flush()
    producer.close()
    assert run_audit_processor(engine, settings.kafka_bootstrap, audit_schema, topic, 31, timeout_s=8) == 30

    # per stream, the log keeps stream order; the root is the reference tree over the logged bytes
    log = AuditLogStore(audit_schema)
    with engine.connect() as conn:
        logged = list(log.iter_events(conn, 30))
        head = log.head(conn)
    assert head[1] == MemoryTree(e.canonical for e in logged).root()
    assert sorted(e.canonical for e in logged) == sorted(canonical)
    streams = {}
    for e in logged:
        parsed = json.loads(e.canonical)
        streams.setdefault(parsed["stream_id"], []).append(parsed["stream_version"])
    assert all(versions == sorted(versions) for versions in streams.values())

    signer = make_signer(engine, audit_schema, topic, signer_process)
    first = signer.sign_now("bulletin")
    assert Checkpoint.parse(first.note.split("\n\n")[0] + "\n").size == 30
    assert first.note.startswith(f"{ORIGIN}\n30\n")
    assert signer.sign_if_grown() is None  # nothing new since

    # CheckpointSigned went to the reporting event store, is published and logged like any event ...
    publish_outbox(engine, audit_schema, settings.kafka_bootstrap)
    assert run_audit_processor(engine, settings.kafka_bootstrap, audit_schema, topic, 31) == 31
    with engine.connect() as conn:
        logged_types = [json.loads(e.canonical)["type"] for e in log.iter_events(conn, 31)]
    assert logged_types[30] == "CheckpointSigned"
    # ... but growth made only of CheckpointSigned does not trigger the schedule (no feedback loop)
    assert signer.sign_if_grown() is None

    append_entities(events, 2)
    publish_outbox(engine, audit_schema, settings.kafka_bootstrap)
    assert run_audit_processor(engine, settings.kafka_bootstrap, audit_schema, topic, 37) == 37
    second = signer.sign_if_grown()
    assert second is not None and second.tree_size == 37

    summary = export_bundle(engine, audit_schema, tmp_path, "event-stores", stores=[audit_schema])
    assert (summary.events, summary.missing, summary.checkpoints, summary.keys) == (37, [], 2, 1)
    report = verify_files(tmp_path / "audit-keys.vkey", tmp_path / "checkpoints", tmp_path / "events.jsonl",
                          origin=ORIGIN)
    print(report.render())
    assert report.ok, report.render()
    assert "events 1..30 reproduce the root" in report.render()
    assert "events 1..37 reproduce the root" in report.render()
