"""Least privilege in the real PostgreSQL (docs/security.md, "PostgreSQL"): each process's role, with the
credentials `deploy/stack.py env --process` gives it, against the service schemas `campaign migrate` granted.

Every write a role may not do is attempted for real and must fail with a privilege error; the writes a role
needs are tried inside a transaction that is rolled back, so the shared schemas keep nothing.
"""

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from platform_core.local_processes import process_environment, stack_module
from platform_core.services import SERVICE_NAMES as SERVICES

# one process per database role
ROLE_PROCESSES = {"campaign_registry": "registry", "campaign_membership": "membership",
                  "campaign_formation": "formation", "campaign_reporting": "reporting",
                  "campaign_audit": "reporting-consumer"}
INSUFFICIENT_PRIVILEGE = "42501"


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, sa.engine.Engine]]:
    made = {role: sa.create_engine(process_environment(process)["CAMPAIGN_DATABASE_URL"], poolclass=sa.pool.NullPool)
            for role, process in ROLE_PROCESSES.items()}
    yield made
    for engine in made.values():
        engine.dispose()


def refused(engine: sa.engine.Engine, *statements: str) -> str:
    """Run the statements in a transaction that must fail for want of privilege; return the error text."""
    with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as failure:
        with conn.begin():
            for statement in statements:
                conn.execute(sa.text(statement))
    assert failure.value.orig.pgcode == INSUFFICIENT_PRIVILEGE, failure.value.orig
    return str(failure.value.orig)


def rolled_back(engine: sa.engine.Engine, statement: str, **params) -> int:
    """Run one statement allowed to the role, then roll back; return its row count."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            return conn.execute(sa.text(statement), params).rowcount
        finally:
            transaction.rollback()


def service_of(role: str) -> str:
    return "reporting" if role == "campaign_audit" else role.removeprefix("campaign_")


@pytest.mark.parametrize("role", ROLE_PROCESSES)
def test_a_process_role_is_neither_superuser_nor_owner_of_anything_it_writes(engines, role):
    with engines[role].connect() as conn:
        assert conn.execute(sa.text("SELECT current_user")).scalar() == role
        assert conn.execute(sa.text("SELECT rolsuper OR rolcreaterole OR rolbypassrls FROM pg_roles"
                                    " WHERE rolname = current_user")).scalar() is False
        owned = conn.execute(sa.text("SELECT schemaname || '.' || tablename FROM pg_tables WHERE tableowner = :r"
                                     " AND schemaname = ANY(:s)"), {"r": role, "s": list(SERVICES)}).scalars().all()
    # reporting owns its disposable projection tables (a replay drops and re-creates them), nothing else
    assert all(name.startswith("reporting.rp_") for name in owned), owned
    assert bool(owned) == (role == "campaign_reporting")


@pytest.mark.parametrize("role", ROLE_PROCESSES)
def test_a_role_cannot_write_another_services_schema(engines, role):
    for other in SERVICES:
        if other == service_of(role):
            continue
        refused(engines[role], f"INSERT INTO {other}.refused_commands (department, user_name, permission, reason)"
                               " VALUES ('x', 'x', 'x', 'x')")
        refused(engines[role], f"DELETE FROM {other}.outbox")
        refused(engines[role], f"UPDATE {other}.consumer_offsets SET next_offset = 0")


@pytest.mark.parametrize("role", ROLE_PROCESSES)
def test_events_are_insert_only_and_their_triggers_stay_on(engines, role):
    schema, engine = service_of(role), engines[role]
    for statement in (f"UPDATE {schema}.events SET payload = '{{}}'", f"DELETE FROM {schema}.events",
                      f"TRUNCATE {schema}.events", f"UPDATE {schema}.idempotency_keys SET event_ids = '{{}}'",
                      f"DELETE FROM {schema}.idempotency_keys", "SET session_replication_role = replica",
                      f"DROP TABLE {schema}.events",
                      f"CREATE TRIGGER sneak BEFORE INSERT ON {schema}.events FOR EACH ROW "
                      f"EXECUTE FUNCTION {schema}.forbid_event_change()"):
        refused(engine, statement)
    for trigger in ("events_append_only", "ALL"):
        assert "must be owner" in refused(engine, f"ALTER TABLE {schema}.events DISABLE TRIGGER {trigger}")


@pytest.mark.parametrize("role", [r for r in ROLE_PROCESSES if r != "campaign_audit"])
def test_the_outbox_may_only_be_marked_published(engines, role):
    schema, engine = service_of(role), engines[role]
    for statement in (f"UPDATE {schema}.outbox SET topic = 'registry.events'",
                      f"UPDATE {schema}.outbox SET event_id = gen_random_uuid()", f"DELETE FROM {schema}.outbox"):
        refused(engine, statement)
    rolled_back(engine, f"UPDATE {schema}.outbox SET published_at = now() WHERE id = -1")  # the relay's mark
    # the writes a command needs: an event, its outbox row and its key, in one transaction (rolled back)
    event_id, stream = uuid.uuid4(), f"roles-test-{uuid.uuid4()}"
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(sa.text(
                f"INSERT INTO {schema}.events (event_id, stream_id, stream_version, type, schema_version, occurred_at,"
                " recorded_at, actor, payload, canonical) VALUES (:e, :s, 1, 'T', 1, now(), now(), '{}', '{}', '\\x00')"),
                {"e": event_id, "s": stream})
            conn.execute(sa.text(f"INSERT INTO {schema}.outbox (event_id, topic) VALUES (:e, 't')"), {"e": event_id})
            conn.execute(sa.text(f"INSERT INTO {schema}.idempotency_keys (idempotency_key, request_hash, stream_id,"
                                 " event_ids) VALUES (:k, 'h', :s, ARRAY[CAST(:e AS uuid)])"),
                         {"k": stream, "s": stream, "e": str(event_id)})
        finally:
            transaction.rollback()


def test_the_audit_appender_may_only_append_to_the_audit_log(engines):
    engine = engines["campaign_audit"]
    for table in ("audit_log", "audit_nodes", "audit_heads", "audit_checkpoints"):
        refused(engine, f"DELETE FROM reporting.{table}")
        refused(engine, f"TRUNCATE reporting.{table}")
        assert "must be owner" in refused(engine, f"ALTER TABLE reporting.{table} DISABLE TRIGGER ALL")
    refused(engine, "UPDATE reporting.audit_log SET canonical = '\\x00'")
    refused(engine, "UPDATE reporting.audit_heads SET root_hash = root_hash")
    refused(engine, "UPDATE reporting.audit_checkpoints SET note = ''")
    rolled_back(engine, "INSERT INTO reporting.audit_heads (tree_size, root_hash) VALUES (:s, :r)",
                s=2 ** 62, r=b"\x00" * 32)
    # and nothing of reporting's projections
    refused(engine, "INSERT INTO reporting.rp_tasks (entity_id, state) VALUES ('x', 'x')")


def test_the_reporting_app_reads_the_audit_log_but_cannot_append_to_it(engines):
    engine = engines["campaign_reporting"]
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT count(*) FROM reporting.audit_log")).scalar()
        conn.execute(sa.text("SELECT tree_size FROM reporting.audit_heads ORDER BY tree_size DESC LIMIT 1")).scalar()
    refused(engine, "INSERT INTO reporting.audit_heads (tree_size, root_hash) VALUES (9, '\\x00')")
    refused(engine, "INSERT INTO reporting.audit_nodes (level, idx, hash) VALUES (1, 0, '\\x00')")
    refused(engine, "INSERT INTO reporting.audit_log (leaf_index, event_id, leaf_hash, canonical, event_type,"
                    " stream_id, recorded_at, actor_department) VALUES (0, gen_random_uuid(), '\\x00', '\\x00', 't',"
                    " 's', now(), 'd')")
    refused(engine, "UPDATE reporting.audit_checkpoints SET note = ''")
    # its own projections it may rebuild (a replay drops and re-creates them)
    rolled_back(engine, "TRUNCATE reporting.rp_tasks")


def test_the_superuser_cannot_log_in_over_tcp():
    stack = stack_module()
    settings = stack.load_settings()
    engine = sa.create_engine(f"postgresql+psycopg2://campaign@127.0.0.1:{settings.pg_port}/campaign",
                              poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.OperationalError, match="pg_hba.conf rejects connection"):
        engine.connect()


def test_a_role_without_its_password_cannot_log_in():
    settings = stack_module().load_settings()
    engine = sa.create_engine(f"postgresql+psycopg2://campaign_registry:not-the-password@127.0.0.1:{settings.pg_port}"
                              "/campaign", poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        engine.connect()


def test_a_process_role_cannot_migrate_and_says_who_can(engines, tmp_path):
    from platform_core.db import MigrationsPending, migrate

    extra = tmp_path / "migrations"
    extra.mkdir()
    (extra / "9999_roles_test.sql").write_text("CREATE TABLE roles_test (id INT);\n")
    with pytest.raises(MigrationsPending, match="campaign migrate"):
        migrate(engines["campaign_registry"], "registry", extra)

