"""Helpers for formation's integration tests (not fixtures): upstream events as the other services publish them."""

import random
import uuid
from datetime import datetime, timezone

from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from platform_core.contracts import event_types_for
from platform_core.envelope import Actor, EventEnvelope
from platform_core.kafka_io import DeadLetterPublisher
from platform_core.projection_consumer import ConsumedRecord, ProjectionApplier
from stream_versions import next_version

from formation.adapters.tables import tables
from formation.handlers.projections import checkpoint_projection, upstream_projection

UPSTREAM_TYPES = event_types_for("registry", "membership", "reporting")
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


# Streams these helpers share between tests (a street's ledger, the audit log's checkpoints) are this run's
# own: the tests' projection groups persist across runs on one stack, and a later run's version 1 of the
# same stream would be skipped as a repeat.
RUN = uuid.uuid4().hex[:8]


def envelope(event_type: str, stream_id: str, payload: dict, version: int | None = None) -> EventEnvelope:
    """A validated envelope, exactly as the publishing service's store would write it (by default the
    stream's next version)."""
    version = next_version(stream_id) if version is None else version
    schema_version, checked = UPSTREAM_TYPES.validate_payload(event_type, payload)
    now = datetime.now(timezone.utc)
    return EventEnvelope(event_id=uuid.uuid4(), type=event_type, schema_version=schema_version, stream_id=stream_id,
                         stream_version=version, occurred_at=now, recorded_at=now,
                         actor=Actor(department="city_org", user="tests"), payload=checked)


def entity_registered(entity_id: str, district: str = "420102", street: str | None = None, formal: int = 0,
                      kind: str = "non_public_enterprise", subtype: str = "private", industry: str = "manufacturing",
                      level: str | None = None, supervising: str | None = None,
                      public_sector_staffed: bool | None = None) -> EventEnvelope:
    return envelope("EntityRegistered", entity_id, {
        "entity_id": entity_id, "uscc": "".join(random.choice(USCC_CHARS) for _ in range(18)),
        "name": f"测试单位{entity_id[-6:]}", "kind": kind, "subtype": subtype, "district_code": district,
        "street_code": street or f"{district}001", "level": level, "supervising_department": supervising,
        "industry": industry, "employees": 120, "formal_members": formal, "probationary_members": 0,
        "operation_status": "operating", "party_organization": "none", "personal_data": None,
        "public_sector_staffed": public_sector_staffed})


def ledger_approved(unit: str, entity_ids: list[str], district: str = "420102") -> EventEnvelope:
    return envelope("LedgerApproved", f"ledger-{unit}-{RUN}", {
        "unit": unit, "unit_kind": "street", "district_code": district, "submission": 1,
        "entity_count": len(entity_ids), "entity_ids": entity_ids})


def member_registered(entity_id: str, standing: str = "formal", member_id: str | None = None) -> EventEnvelope:
    member_id = member_id or f"member-{uuid.uuid4()}"
    return envelope("MemberRegistered", member_id, {
        "member_id": member_id, "standing": standing, "admitted_on": "2010-07-01", "entity_id": entity_id})


def checkpoint_signed(checkpoint_id: int, root: str) -> EventEnvelope:
    return envelope("CheckpointSigned", f"auditlog-tests-{RUN}", {
        "checkpoint_id": checkpoint_id, "origin": f"tests/{uuid.uuid4()}", "tree_size": checkpoint_id * 10,
        "root_hash": root, "signed_at": "2016-11-20T00:00:00Z", "verifier_key": "tests+00000000+AAAA",
        "reason": "manual", "note": "tests"})


def project(engine, producer, *envelopes: EventEnvelope, schema: str = "formation") -> None:
    """Feed envelopes to formation's projections as its consumers would (one transaction each)."""
    bound = tables(schema)
    upstream = [e for e in envelopes if e.type != "CheckpointSigned"]
    for group, handler, batch in ((DIRECT_GROUP, upstream_projection(bound), upstream),
                                  ("formation.checkpoints.tests-direct", checkpoint_projection(bound),
                                   [e for e in envelopes if e.type == "CheckpointSigned"])):
        if not batch:
            continue
        applier = ProjectionApplier(schema, group, None, UPSTREAM_TYPES, DeadLetterPublisher(producer),
                                    batch_handler=handler)
        records = [ConsumedRecord(DIRECT_TOPIC, 0, offset, e.canonical_bytes()) for offset, e in enumerate(batch)]
        with engine.begin() as conn:
            outcome = applier.apply(conn, records)
        assert outcome.applied == len(batch), outcome


DIRECT_GROUP, DIRECT_TOPIC = "formation.upstream.tests-direct", "upstream.tests"


def formation_app(upstream_group: str = DIRECT_GROUP, upstream_topics: tuple[str, ...] = (DIRECT_TOPIC,)):
    """Formation's HTTP app on its own schema, on a simulated campaign clock (tests only).

    ``project`` below feeds formation's projection directly, before the requests that need it, so nothing
    is in flight: by default the app's projection-lag check watches that feed (a topic Kafka does not
    hold, so never behind). A test of the lag itself names a real topic and group."""
    from formation.bootstrap import build_formation
    from formation.entrypoints.http import create_app
    from platform_core.service import bootstrap_service
    from platform_core.settings import PlatformSettings

    context = bootstrap_service("formation", event_types_for("formation"),
                                settings=PlatformSettings(simulated_clock=True))
    app = create_app(context)
    app.state.formation = build_formation(context, upstream_group, upstream_topics)
    return app


def on(day: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers that run a request on a campaign business date (10:00 city time)."""
    return (headers or {}) | {"X-Campaign-Time": f"{day}T10:00:00+08:00"}


def token(kind: str, territory: str | None = None, user: str = "tester") -> dict[str, str]:
    department = f"{kind}:{territory}" if territory else kind
    principal = Principal(department=department, kind=kind, user=user, territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}
