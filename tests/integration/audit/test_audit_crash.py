"""kill -9 of the audit processor in the middle of a batch: after a restart every event is in
the log exactly once and the root equals a fresh replay's."""

import signal
import subprocess
import sys
import uuid
from pathlib import Path

from audit_fixtures import audit_schema, publish_outbox, reporting_store  # noqa: F401 (fixture)
from platform_core.envelope import Actor
from platform_core.events import NewEvent
from platform_core.merkle import MemoryTree
from reporting.audit.store import AuditLogStore

RUNNER = Path(__file__).with_name("audit_processor_runner.py")


def run(settings, schema, topic, group, kill_at=0):
    return subprocess.run([sys.executable, str(RUNNER), settings.database_url, settings.kafka_bootstrap, schema, topic,
                           group, str(kill_at)], capture_output=True, timeout=180)


def test_processor_killed_mid_batch_loses_and_doubles_nothing(engine, settings, audit_schema, topic):
    events = reporting_store(engine, audit_schema, topic)
    for s in range(30):
        events.append(f"entity-{uuid.uuid4()}", 0, [NewEvent("EntityProfileUpdated", {"employees": s * 10 + v})
                                                    for v in range(10)], Actor(department="civil_affairs", user="u"))
    publish_outbox(engine, audit_schema, settings.kafka_bootstrap)
    log = AuditLogStore(audit_schema)

    group = f"audit-crash-{uuid.uuid4().hex[:8]}"
    killed = run(settings, audit_schema, topic, group, kill_at=3)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    with engine.connect() as conn:
        size_after_kill = log.head(conn)[0]
    assert size_after_kill <= 2 * 40  # the third batch was rolled back with its offsets

    resumed = run(settings, audit_schema, topic, group)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    with engine.connect() as conn:
        size, root = log.head(conn)
        logged = list(log.iter_events(conn, size))
        stored = {bytes(r[0]) for r in conn.exec_driver_sql(f"SELECT canonical FROM {audit_schema}.events")}
    assert size == 300 and len({e.event_id for e in logged}) == 300
    assert {e.canonical for e in logged} == stored
    assert MemoryTree(e.canonical for e in logged).root() == root
