"""The one place that wires the reporting service."""

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.contracts import event_types_for, every_event_type
from platform_core.db import quoted_schema
from platform_core.envelope import Actor
from platform_core.kafka_io import EVENT_TOPICS
from platform_core.projection_consumer import ProjectionSpec
from platform_core.reference import load_calendar
from platform_core.service import ServiceContext, bootstrap_service
from platform_core.settings import get_settings
from reporting.audit.checkpoints import SIGNER_ACTOR, CheckpointSigner, start_schedule
from reporting.audit.config import AuditSettings
from reporting.audit.processor import AUDIT_GROUP, audit_projection
from reporting.audit.store import AuditLogStore
from reporting.adapters.projection_store import PROJECTION_GROUP, PROJECTION_TABLES, create_tables
from reporting.adapters.replay import as_of_prefix
from reporting.adapters.signals_store import SIGNAL_TABLES, SIGNALS_GROUP, create_signal_tables
from reporting.handlers.projection import projection_handler
from reporting.handlers.signals_projection import signals_handler

log = logging.getLogger(__name__)


def build_context() -> ServiceContext:
    """Reporting over its schema, or over CAMPAIGN_REPORTING_SCHEMA: a separate instance with its own
    projections, reports, bulletins and audit log (an isolated simulated campaign on a shared stack; its
    projections read in consumer groups of its own: ``instance_group``)."""
    settings = get_settings()
    return bootstrap_service("reporting", event_types_for("reporting"), settings, schema=settings.reporting_schema)


def prepare_schema(context: ServiceContext) -> None:
    """Migrations, and the projection tables the processor fills (empty until it runs): the API and the
    dashboard answer on a fresh platform instead of failing on a missing table."""
    context.migrate()
    with context.engine.begin() as conn:
        create_tables(conn, context.schema)
        create_signal_tables(conn, context.schema, instance_group(SIGNALS_GROUP, context.schema))


def role_tables(conn: Connection, schema: str, role: str) -> None:
    """Run by ``campaign migrate`` as the owner: the projection tables, owned by reporting's role (a
    replay drops and re-creates them). Tables and as-of schemas another role made (a stack from before
    the roles) are handed over first."""
    s = quoted_schema(schema)
    for table in (*PROJECTION_TABLES, *SIGNAL_TABLES):
        owner = conn.execute(sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = :s AND tablename = :t"),
                             {"s": schema, "t": table}).scalar()
        if owner is not None and owner != role:
            conn.execute(sa.text(f"ALTER TABLE {s}.{table} OWNER TO {role}"))
    for name in conn.execute(sa.text(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p) AND nspowner <> CAST(:r AS regrole)"),
            {"p": as_of_prefix(schema), "r": role}).scalars():
        conn.execute(sa.text(f"ALTER SCHEMA {quoted_schema(name)} OWNER TO {role}"))
    conn.execute(sa.text(f"SET LOCAL ROLE {role}"))
    create_tables(conn, schema)
    create_signal_tables(conn, schema, instance_group(SIGNALS_GROUP, schema))
    conn.execute(sa.text("RESET ROLE"))


def checkpoint_signer(context: ServiceContext, audit: AuditSettings | None = None) -> CheckpointSigner:
    """The log's checkpoints, signed by the signer process (CAMPAIGN_SIGNER_URL or CAMPAIGN_SIGNER_PORT,
    CAMPAIGN_SIGNER_CLIENT_SECRET_FILE); reporting holds no signing key."""
    audit = audit or AuditSettings()
    return CheckpointSigner(context.engine, context.store, AuditLogStore(context.schema), audit.signer_client(),
                            audit.origin)


def sign_checkpoint_now(context: ServiceContext, reason: str = "manual", actor: Actor = SIGNER_ACTOR) -> str:
    """Have the log's current head signed and return the signed checkpoint text (C2SP note)."""
    return checkpoint_signer(context).sign_now(reason, actor).note


def build_projections(context: ServiceContext) -> list[ProjectionSpec]:
    """Run by ``campaign consume reporting``: the audit log (``--projection audit-log``, as the audit
    appender's role, with the checkpoint schedule beside it: CAMPAIGN_AUDIT_CHECKPOINT_INTERVAL_SECONDS,
    0 = off), the coverage projections (``--projection coverage``, as reporting's role) and the detectors'
    signals (``--projection signals``, as reporting's role). The stack runs each in a process of its own,
    with its own rights (deploy/stack/processes.py).

    A second instance (CAMPAIGN_REPORTING_SCHEMA) reads in groups of its own, not sharing partitions.
    """
    audit = AuditSettings()

    def checkpoint_schedule() -> None:
        if audit.checkpoint_interval_seconds > 0:
            start_schedule(lambda: checkpoint_signer(context, audit), audit.checkpoint_interval_seconds)
            log.info("audit checkpoint schedule started", extra={"every_seconds": audit.checkpoint_interval_seconds})

    return [audit_projection(context.schema, group_id=instance_group(AUDIT_GROUP, context.schema),
                             on_start=checkpoint_schedule),
            coverage_projection(context), signals_projection(context)]


def instance_group(group: str, schema: str) -> str:
    """The live instance's group, or a second instance's own (its Kafka ACL allows the prefix)."""
    return group if schema == "reporting" else f"{group}-{schema}"


def signals_projection(context: ServiceContext) -> ProjectionSpec:
    """The detectors' signals (``--projection signals``, as reporting's role, docs/detectors.md): every event
    topic through the signals handler, on the shared driver; its tables are created when it starts."""
    group = instance_group(SIGNALS_GROUP, context.schema)

    def create() -> None:
        with context.engine.begin() as conn:
            create_signal_tables(conn, context.schema, group)

    return ProjectionSpec(group_id=group, topics=EVENT_TOPICS, registry=every_event_type(),
                          batch_handler=signals_handler(context.schema, load_calendar()), name="signals",
                          on_start=create)


def coverage_projection(context: ServiceContext) -> ProjectionSpec:
    """Coverage, organizations, checks: every event topic through the batch handler, on the shared driver.
    Its tables are created when the projection starts, by the role that owns them."""
    group = instance_group(PROJECTION_GROUP, context.schema)

    def create_projection_tables() -> None:
        with context.engine.begin() as conn:
            create_tables(conn, context.schema, group)

    return ProjectionSpec(group_id=group, topics=EVENT_TOPICS, registry=every_event_type(),
                          batch_handler=projection_handler(context.schema), name="coverage",
                          on_start=create_projection_tables)
