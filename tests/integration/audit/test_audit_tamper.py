"""Tampering with PostgreSQL rows after a checkpoint was signed is caught by the offline verifier.

Each test edits, deletes or reorders real rows (event store rows, or the audit log's own
leaf/node rows) with the append-only triggers disabled as the table owner, commits, exports
with the real export code, runs the verifier on the files, checks its failure message,
then restores the rows and shows that the same export verifies again.
"""

import base64
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from audit_fixtures import (
    ORIGIN, REPORTING_MIGRATIONS, TEST_KEY_SEED, create_topic, delete_topic, make_signer, publish_outbox,
    reporting_store, run_audit_processor,
)
from signer_process import running_signer
from platform_core.db import migrate
from platform_core.envelope import Actor
from platform_core.events import NewEvent
from reporting.audit import queries
from reporting.audit.export import export_bundle
from reporting.audit.store import AuditLogStore, LogDamaged
from reporting.audit.verify import Report, check_proof, load_keys, open_checkpoints, verify_files

ACTOR = Actor(department="district_org:420102", user="clerk")


@pytest.fixture(scope="module")
def signed_log(engine, settings, tmp_path_factory):
    """A log of 41 leaves fed through Kafka: 20 events, checkpoint 1, its CheckpointSigned event,
    20 more events, checkpoint 2 (size 41), signed by a real signer process."""
    schema = f"t_audit_{uuid.uuid4().hex[:10]}"
    migrate(engine, schema, REPORTING_MIGRATIONS)
    topic = create_topic(settings.kafka_bootstrap)
    events = reporting_store(engine, schema, topic)

    def add(first: int) -> None:
        for k in range(first, first + 20, 2):
            events.append(f"entity-{uuid.uuid4()}", 0, [
                NewEvent("EntityProfileUpdated", {"employees": 1000 + k, "division_code": "420102"}),
                NewEvent("EntityProfileUpdated", {"employees": 1000 + k + 1, "division_code": "420102"})], ACTOR)
        publish_outbox(engine, schema, settings.kafka_bootstrap)

    with running_signer(tmp_path_factory.mktemp("signer"), ORIGIN, TEST_KEY_SEED) as signer_process:
        signer = make_signer(engine, schema, topic, signer_process)
        add(0)
        assert run_audit_processor(engine, settings.kafka_bootstrap, schema, topic, 20) == 20
        first = signer.sign_now("schedule")
        add(20)
        assert run_audit_processor(engine, settings.kafka_bootstrap, schema, topic, 41) == 41
        second = signer.sign_now("bulletin")
        assert (first.tree_size, second.tree_size) == (20, 41)
        yield SimpleNamespace(schema=schema, topic=topic, signer=signer_process)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    delete_topic(settings.kafka_bootstrap, topic)


def export_and_verify(engine, schema, path, source="event-stores"):
    summary = export_bundle(engine, schema, path, source, stores=[schema])
    report = verify_files(path / "audit-keys.vkey", path / "checkpoints", path / "events.jsonl", origin=ORIGIN)
    print(f"\n--- verifier output ({source}) ---\n{report.render()}")
    return summary, report


def tamper(engine, schema: str, tables: list[str], *statements: str) -> None:
    """Run statements as the owner with the tables' append-only triggers off, and commit."""
    with engine.begin() as conn:
        for table in tables:
            conn.execute(sa.text(f"ALTER TABLE {schema}.{table} DISABLE TRIGGER USER"))
        for statement in statements:
            conn.execute(sa.text(statement))
        for table in tables:
            conn.execute(sa.text(f"ALTER TABLE {schema}.{table} ENABLE TRIGGER USER"))


def leaf_event_id(engine, schema, leaf_index) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text(f"SELECT event_id FROM {schema}.audit_log WHERE leaf_index = :i"),
                                {"i": leaf_index}).scalar_one())


def data_leaf(engine, schema, near: int) -> int:
    """The first leaf from ``near`` on that holds an entity event. Leaves 21..40 hold the second 20 events
    and the first checkpoint's CheckpointSigned event, which lands wherever the consumer's polls put it."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            f"SELECT min(leaf_index) FROM {schema}.audit_log WHERE leaf_index >= :i"
            " AND position('EntityProfileUpdated' in convert_from(canonical, 'UTF8')) > 0"), {"i": near}).scalar_one()


@pytest.fixture
def untouched(engine, signed_log, tmp_path):
    """Before and after each test: the untampered export verifies."""
    _, report = export_and_verify(engine, signed_log.schema, tmp_path / "before")
    assert report.ok, report.render()
    yield signed_log
    _, report = export_and_verify(engine, signed_log.schema, tmp_path / "after")
    assert report.ok, "the test did not restore the rows:\n" + report.render()


def test_editing_an_event_row_is_detected(engine, untouched, tmp_path):
    s = untouched.schema
    victim = leaf_event_id(engine, s, data_leaf(engine, s, 25))
    with engine.connect() as conn:
        original = bytes(conn.execute(sa.text(f"SELECT canonical FROM {s}.events WHERE event_id = :e"), {"e": victim}).scalar_one())
    assert b'"employees":10' in original
    forged = original.replace(b'"employees":10', b'"employees":90')
    tamper(engine, s, ["events"], f"UPDATE {s}.events SET canonical = decode('{forged.hex()}', 'hex') WHERE event_id = '{victim}'")
    try:
        _, report = export_and_verify(engine, s, tmp_path / "edited")
        assert not report.ok
        text = report.render()
        assert "events 1..20 reproduce the root" in text  # the first checkpoint still holds
        assert "(size 41): the root recomputed from the events is" in text
        assert "an event in lines 21..41 was altered, removed, added or reordered" in text
    finally:
        tamper(engine, s, ["events"], f"UPDATE {s}.events SET canonical = decode('{bytes(original).hex()}', 'hex') WHERE event_id = '{victim}'")


def test_deleting_an_event_row_is_detected(engine, untouched, tmp_path):
    s, victim = untouched.schema, leaf_event_id(engine, untouched.schema, 7)
    tamper(engine, s, [],
           f"CREATE TABLE {s}.saved_events AS SELECT * FROM {s}.events WHERE event_id = '{victim}'",
           f"CREATE TABLE {s}.saved_outbox AS SELECT * FROM {s}.outbox WHERE event_id = '{victim}'")
    tamper(engine, s, ["events"], f"DELETE FROM {s}.outbox WHERE event_id = '{victim}'",
           f"DELETE FROM {s}.events WHERE event_id = '{victim}'")
    try:
        summary, report = export_and_verify(engine, s, tmp_path / "deleted")
        assert summary.missing == [f"leaf 7: event {victim} is not in the event stores"]
        text = report.render()
        assert not report.ok
        assert "an event in lines 1..20 was altered, removed, added or reordered" in text
        assert "covers 41 events, the export holds only 40: events are missing" in text
    finally:
        tamper(engine, s, [], f"INSERT INTO {s}.events SELECT * FROM {s}.saved_events",
               f"INSERT INTO {s}.outbox SELECT * FROM {s}.saved_outbox",
               f"DROP TABLE {s}.saved_events", f"DROP TABLE {s}.saved_outbox")


def test_reordering_event_rows_is_detected(engine, untouched, tmp_path):
    s = untouched.schema
    a, b = leaf_event_id(engine, s, 3), leaf_event_id(engine, s, 12)
    swap = (f"UPDATE {s}.events e SET canonical = o.canonical FROM {s}.events o"
            f" WHERE (e.event_id, o.event_id) IN (('{a}', '{b}'), ('{b}', '{a}'))")
    tamper(engine, s, ["events"], swap)
    try:
        _, report = export_and_verify(engine, s, tmp_path / "reordered")
        text = report.render()
        assert not report.ok
        assert "an event in lines 1..20 was altered, removed, added or reordered" in text
        assert "(size 41): the root recomputed" in text
    finally:
        tamper(engine, s, ["events"], swap)


def test_editing_the_logs_event_bytes_is_detected(engine, untouched, tmp_path):
    s = untouched.schema
    leaf = data_leaf(engine, s, 30)
    with engine.connect() as conn:
        original = bytes(conn.execute(sa.text(f"SELECT canonical FROM {s}.audit_log WHERE leaf_index = {leaf}")).scalar_one())
    forged = original.replace(b'"division_code":"420102"', b'"division_code":"420103"')
    assert forged != original
    tamper(engine, s, ["audit_log"], f"UPDATE {s}.audit_log SET canonical = decode('{forged.hex()}', 'hex') WHERE leaf_index = {leaf}")
    try:
        _, report = export_and_verify(engine, s, tmp_path / "log-edited", source="log")
        assert not report.ok
        assert "an event in lines 21..41 was altered, removed, added or reordered" in report.render()
    finally:
        tamper(engine, s, ["audit_log"], f"UPDATE {s}.audit_log SET canonical = decode('{original.hex()}', 'hex') WHERE leaf_index = {leaf}")


def test_reordering_the_logs_rows_is_detected(engine, untouched, tmp_path):
    s = untouched.schema
    swap = [f"UPDATE {s}.audit_log SET leaf_index = 1000000 WHERE leaf_index = 4",
            f"UPDATE {s}.audit_log SET leaf_index = 4 WHERE leaf_index = 5",
            f"UPDATE {s}.audit_log SET leaf_index = 5 WHERE leaf_index = 1000000"]
    tamper(engine, s, ["audit_log"], *swap)
    try:
        _, report = export_and_verify(engine, s, tmp_path / "log-reordered", source="log")
        assert not report.ok
        assert "an event in lines 1..20 was altered, removed, added or reordered" in report.render()
    finally:
        tamper(engine, s, ["audit_log"], *swap)


def _proof_report(engine, schema, proof: dict) -> Report:
    """The verifier's proof check, against the two signed checkpoints, as an inspector runs it."""
    log = AuditLogStore(schema)
    with engine.connect() as conn:
        keys = load_keys("".join(k + "\n" for k in log.verifier_keys(conn)))
        notes = [(f"checkpoint-{c.id}", c.note) for c in log.checkpoints(conn)]
    report = Report()
    check_proof("from-api", proof, open_checkpoints(notes, keys, ORIGIN, report), report)
    print(f"\n--- verifier output (proof) ---\n{report.render()}")
    return report


def _inclusion(engine, schema, leaf_index: int, tree_size: int) -> dict:
    log = AuditLogStore(schema)
    event_id = uuid.UUID(leaf_event_id(engine, schema, leaf_index))
    with engine.connect() as conn:
        found = queries.inclusion_proof(conn, log, event_id, tree_size)
    return {"kind": "inclusion", "leaf_index": leaf_index, "tree_size": tree_size,
            "event": found.event.canonical.decode(), "proof": [base64.b64encode(p).decode() for p in found.proof]}


def test_editing_a_stored_leaf_hash_breaks_the_proofs_it_feeds(engine, untouched):
    s = untouched.schema
    assert _proof_report(engine, s, _inclusion(engine, s, 9, 41)).ok
    tamper(engine, s, ["audit_log"], f"CREATE TABLE {s}.saved_leaf AS SELECT leaf_hash FROM {s}.audit_log WHERE leaf_index = 8",
           f"UPDATE {s}.audit_log SET leaf_hash = sha256('forged'::bytea) WHERE leaf_index = 8")
    try:
        report = _proof_report(engine, s, _inclusion(engine, s, 9, 41))  # leaf 8 is leaf 9's sibling
        assert not report.ok
        assert "inclusion proof for leaf 9 leads to root" in report.render()
        assert "not the expected" in report.render()
    finally:
        tamper(engine, s, ["audit_log"], f"UPDATE {s}.audit_log SET leaf_hash = (SELECT leaf_hash FROM {s}.saved_leaf) WHERE leaf_index = 8",
               f"DROP TABLE {s}.saved_leaf")


def test_editing_a_stored_tree_node_breaks_consistency_proofs(engine, untouched):
    s = untouched.schema
    log = AuditLogStore(s)

    def consistency() -> dict:
        with engine.connect() as conn:
            found = queries.consistency_proof(conn, log, 20, 41)
        return {"kind": "consistency", "first": 20, "second": 41, "proof": [base64.b64encode(p).decode() for p in found.proof]}

    assert _proof_report(engine, s, consistency()).ok
    # node (level 2, index 4) covers leaves 16..19: the proof from size 20 starts from it
    tamper(engine, s, ["audit_nodes"], f"CREATE TABLE {s}.saved_node AS SELECT hash FROM {s}.audit_nodes WHERE level = 2 AND idx = 4",
           f"UPDATE {s}.audit_nodes SET hash = sha256('forged'::bytea) WHERE level = 2 AND idx = 4")
    try:
        report = _proof_report(engine, s, consistency())
        assert not report.ok
        assert "consistency proof does not lead to the root of size 20" in report.render()
    finally:
        tamper(engine, s, ["audit_nodes"], f"UPDATE {s}.audit_nodes SET hash = (SELECT hash FROM {s}.saved_node) WHERE level = 2 AND idx = 4",
               f"DROP TABLE {s}.saved_node")


def test_a_forged_checkpoint_row_is_refused(engine, untouched, tmp_path):
    s = untouched.schema
    with engine.connect() as conn:
        note = conn.execute(sa.text(f"SELECT note FROM {s}.audit_checkpoints ORDER BY id LIMIT 1")).scalar_one()
    forged = note.replace("\n20\n", "\n19\n", 1)
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {s}.audit_checkpoints DISABLE TRIGGER USER"))
        conn.execute(sa.text(f"UPDATE {s}.audit_checkpoints SET note = :n WHERE note = :o"), {"n": forged, "o": note})
        conn.execute(sa.text(f"ALTER TABLE {s}.audit_checkpoints ENABLE TRIGGER USER"))
    try:
        _, report = export_and_verify(engine, s, tmp_path / "forged-checkpoint")
        assert not report.ok
        assert "does not verify: the note was altered or not signed by this key" in report.render()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {s}.audit_checkpoints DISABLE TRIGGER USER"))
            conn.execute(sa.text(f"UPDATE {s}.audit_checkpoints SET note = :o WHERE note = :n"), {"n": forged, "o": note})
            conn.execute(sa.text(f"ALTER TABLE {s}.audit_checkpoints ENABLE TRIGGER USER"))


def test_triggers_refuse_plain_edits_of_the_log(engine, untouched):
    s = untouched.schema
    for statement in (f"UPDATE {s}.audit_log SET event_type = 'x' WHERE leaf_index = 0",
                      f"DELETE FROM {s}.audit_nodes WHERE level = 1 AND idx = 0",
                      f"DELETE FROM {s}.audit_checkpoints"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))


def test_the_signer_refuses_to_sign_over_a_damaged_tree(engine, untouched):
    s = untouched.schema
    signer = make_signer(engine, s, untouched.topic, untouched.signer)
    # node (5, 0) covers leaves 0..31: part of the border every later root is folded from
    tamper(engine, s, ["audit_nodes"], f"CREATE TABLE {s}.saved_node AS SELECT hash FROM {s}.audit_nodes WHERE level = 5 AND idx = 0",
           f"UPDATE {s}.audit_nodes SET hash = sha256('forged'::bytea) WHERE level = 5 AND idx = 0")
    try:
        with pytest.raises(LogDamaged, match="refusing to sign"):
            signer.sign_now("manual")
    finally:
        tamper(engine, s, ["audit_nodes"], f"UPDATE {s}.audit_nodes SET hash = (SELECT hash FROM {s}.saved_node) WHERE level = 5 AND idx = 0",
               f"DROP TABLE {s}.saved_node")
    with engine.connect() as conn:
        assert len(AuditLogStore(s).checkpoints(conn)) == 2  # nothing was signed
