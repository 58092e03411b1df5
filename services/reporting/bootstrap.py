"""The one place that wires the reporting service."""

import logging

from sqlalchemy.engine import Connection

from platform_core.contracts import event_types_for
from platform_core.envelope import Actor
from platform_core.projection_consumer import ProjectionSpec
from platform_core.service import ServiceContext, bootstrap_service
from reporting.audit.checkpoints import SIGNER_ACTOR, CheckpointSigner, start_schedule
from reporting.audit.config import AuditSettings
from reporting.audit.note import SignerKey
from reporting.audit.processor import audit_projection
from reporting.audit.store import AuditLogStore

log = logging.getLogger(__name__)


def build_context() -> ServiceContext:
    return bootstrap_service("reporting", event_types_for("reporting"))


def checkpoint_signer(context: ServiceContext, audit: AuditSettings | None = None) -> CheckpointSigner:
    """The log's signer; fails fast when CAMPAIGN_AUDIT_SIGNING_KEY is missing or not a 32-byte seed."""
    audit = audit or AuditSettings()
    key = SignerKey.from_base64_seed(audit.origin, context.settings.require_audit_signing_key())
    return CheckpointSigner(context.engine, context.store, AuditLogStore(context.name), key)


def sign_checkpoint_now(context: ServiceContext, reason: str = "bulletin", actor: Actor = SIGNER_ACTOR,
                        conn: Connection | None = None) -> str:
    """Sign the log's current head and return the signed checkpoint text (C2SP note).

    With ``conn`` the checkpoint and its CheckpointSigned event join the caller's
    transaction (a bulletin and the checkpoint it carries commit together).
    """
    signer = checkpoint_signer(context)
    if conn is None:
        return signer.sign_now(reason, actor).note
    stored, _ = signer.sign_in(conn, reason, actor)
    return stored.note


def build_projections(context: ServiceContext) -> list[ProjectionSpec]:
    """Run by ``campaign consume reporting``: the audit log processor, and the checkpoint
    schedule in this same process (CAMPAIGN_AUDIT_CHECKPOINT_INTERVAL_SECONDS; 0 = off)."""
    audit = AuditSettings()
    if audit.checkpoint_interval_seconds > 0:
        start_schedule(checkpoint_signer(context, audit), audit.checkpoint_interval_seconds)
        log.info("audit checkpoint schedule started", extra={"every_seconds": audit.checkpoint_interval_seconds})
    return [audit_projection(context.name)]
