"""Least privilege in PostgreSQL: what each login role may do in a service schema (docs/security.md).

The roles exist already (deploy/postgres/roles.sh); ``campaign migrate`` runs as ``campaign_owner``,
which owns every schema and table, and calls ``grant_service_roles`` after the migrations, so new
tables get their grants in the same run. The roles that run processes never own a table of the
event store or the audit log: they cannot ALTER them, disable their triggers or become superuser.

- The event store: events and idempotency keys are INSERT-only (plus SELECT); the outbox too, plus
  UPDATE of its published mark only (the relay); refused commands INSERT-only.
- Consumer bookkeeping (offsets, processed events) and the service's read models: what they need.
- The audit log (reporting): INSERT-only for the audit appender (``campaign consume reporting``),
  read-only for the reporting role. Reporting's projections are disposable tables that its role
  owns (replay drops and re-creates them), made by ``role_tables`` under that role.
"""

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .db import quoted_schema
from .services import SERVICES, load_bootstrap
from .services import service as known_service

log = logging.getLogger(__name__)

OWNER_ROLE = "campaign_owner"
AUDIT_APPENDER_ROLE = "campaign_audit"


def service_role(service: str) -> str:
    return known_service(service).db_role


EVENT_STORE = {
    "events": "SELECT, INSERT",
    "idempotency_keys": "SELECT, INSERT",
    "outbox": "SELECT, INSERT, UPDATE (published_at)",
    "refused_commands": "INSERT",
    "consumer_offsets": "SELECT, INSERT, UPDATE",
    "processed_events": "SELECT, INSERT",
    # the newest version applied per stream and projection group (platform_core.projection_consumer)
    "stream_versions": "SELECT, INSERT, UPDATE",
    # a record its consumer could not dead-letter (platform_core.projection_consumer)
    "undelivered_dead_letters": "SELECT, INSERT",
    "schema_migrations": "SELECT",
    # personal data keys (platform_core.data_keys): made with a subject, deleted to erase it (crypto-
    # shredding); re-wrapped only by the operator's rotate command
    "personal_data_keys": "SELECT, INSERT, DELETE",
    # the intake's outcome outbox: written with the commands, marked once published (docs/intake.md)
    "intake_outcomes": "SELECT, INSERT, UPDATE (published_at)",
    # named workers' heartbeats (platform_core.workers): each worker writes its own row, /readyz reads them
    "workers": "SELECT, INSERT, UPDATE",
}
READ_MODEL = "SELECT, INSERT, UPDATE, DELETE"
AUDIT_TABLES = ("audit_log", "audit_nodes", "audit_heads", "audit_checkpoints")


def privileges(service: str) -> dict[str, dict[str, str]]:
    """role -> table -> privileges in a schema of ``service``; tables not named get READ_MODEL for
    the service's role (``None`` there: none at all)."""
    role = service_role(service)
    grants = {role: dict(EVENT_STORE)}
    if service == "reporting":
        grants[role].update({
            # a replay forgets a projection's offsets and stream versions (processed ids: the audit log's)
            "consumer_offsets": "SELECT, INSERT, UPDATE, DELETE", "processed_events": "SELECT, INSERT, DELETE",
            "stream_versions": "SELECT, INSERT, UPDATE, DELETE",
            "audit_log": "SELECT", "audit_nodes": "SELECT", "audit_heads": "SELECT",
            # a bulletin is published with a checkpoint signed in its transaction
            "audit_checkpoints": "SELECT, INSERT", "bulletins": "SELECT, INSERT"})
        grants[AUDIT_APPENDER_ROLE] = {
            **{table: "SELECT, INSERT" for table in AUDIT_TABLES},
            # the checkpoint schedule appends CheckpointSigned to reporting's event store
            **{table: privilege for table, privilege in EVENT_STORE.items() if table not in ("outbox", "intake_outcomes")},
            "outbox": "SELECT, INSERT"}
    return grants


def _tables(conn: Connection, schema: str) -> dict[str, str]:
    """Table -> its owner, in ``schema``."""
    return dict(conn.execute(sa.text(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = :s"), {"s": schema}).all())


def grant_service_roles(conn: Connection, service: str, schema: str | None = None) -> None:
    """Grant ``service``'s roles their privileges in ``schema`` (default: the service's own), revoking
    whatever else they had there first, so the grants are exactly these."""
    schema = quoted_schema(schema or service)
    tables = _tables(conn, schema)
    for role, named in privileges(service).items():
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
        conn.execute(sa.text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}"))
        for table, owner in sorted(tables.items()):
            if owner == role:
                continue  # its own (reporting's projections)
            conn.execute(sa.text(f"REVOKE ALL ON {schema}.{table} FROM {role}"))
            wanted = named.get(table, READ_MODEL if role == service_role(service) else None)
            if service == "reporting" and table in AUDIT_TABLES and table not in named:
                wanted = None  # the audit log is never a read model (formation's audit_checkpoints is)
            if wanted:
                conn.execute(sa.text(f"GRANT {wanted} ON {schema}.{table} TO {role}"))
    if service == "reporting":
        # reporting creates its projection tables (and swaps rebuilt ones in) in its schema
        conn.execute(sa.text(f"GRANT CREATE ON SCHEMA {schema} TO {service_role(service)}"))


def create_role_tables(conn: Connection, service: str, schema: str | None = None) -> None:
    """The tables a service's role owns itself: its bootstrap's ``role_tables(conn, schema, role)``."""
    make = getattr(load_bootstrap(service), "role_tables", None)
    if make is not None:
        make(conn, schema or service, service_role(service))


def missing_roles(conn: Connection) -> list[str]:
    wanted = [OWNER_ROLE, *(s.db_role for s in SERVICES), AUDIT_APPENDER_ROLE]
    found = set(conn.execute(sa.text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:r)"), {"r": wanted}).scalars())
    return [role for role in wanted if role not in found]
