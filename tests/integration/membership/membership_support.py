"""Helpers for membership's integration tests (not fixtures)."""

import random
import uuid
from datetime import date, datetime, timezone

from kafka import KafkaProducer

from membership.bootstrap import ENTITY_PROJECTION_GROUP, ORGANIZATION_PROJECTION_GROUP
from membership.domain.id_number import check_character
from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings
from membership.handlers.entity_projection import entity_projection
from membership.handlers.organization_projection import organization_projection
from platform_core.envelope import Actor, EventEnvelope
from platform_core.kafka_io import DeadLetterPublisher
from platform_core.projection_consumer import ConsumedRecord, ProjectionApplier
from stream_versions import next_version


def entity_registered(entity_id: str, district_code: str, street_code: str | None = None,
                      kind: str = "non_public_enterprise") -> EventEnvelope:
    """An EntityRegistered envelope as registry publishes it (only the keys membership reads, plus extras)."""
    now = datetime.now(timezone.utc)
    return EventEnvelope(
        event_id=uuid.uuid4(), type="EntityRegistered", schema_version=1, stream_id=entity_id,
        stream_version=next_version(entity_id),
        occurred_at=now, recorded_at=now, actor=Actor(department=f"district_org:{district_code}", user="registrar"),
        payload={"entity_id": entity_id, "kind": kind, "district_code": district_code,
                 "street_code": street_code or f"{district_code}001", "name": "某某科技有限公司"})


def formation_event(event_type: str, organization_id: str, payload: dict) -> EventEnvelope:
    """A formation.events envelope as formation publishes it (the keys membership reads, plus extras)."""
    now = datetime.now(timezone.utc)
    return EventEnvelope(
        event_id=uuid.uuid4(), type=event_type, schema_version=1, stream_id=organization_id,
        stream_version=next_version(organization_id),
        occurred_at=now, recorded_at=now, actor=Actor(department="district_org:420102", user="former"),
        payload={"organization_id": organization_id, **payload})


def organization_formed(organization_id: str, entity_ids: list[str], mode: str = "standalone",
                        district_code: str = "420102") -> EventEnvelope:
    return formation_event("OrganizationFormed", organization_id, {
        "mode": mode, "entity_ids": entity_ids, "district_code": district_code, "name": "中共某某支部委员会",
        "formed_on": "2016-09-01", "level": "branch"})


def _project(engine, producer: KafkaProducer, group: str, handler, topic: str, envelopes) -> None:
    applier = ProjectionApplier("membership", f"{group}.tests-direct", handler, None, DeadLetterPublisher(producer))
    records = [ConsumedRecord(topic, 0, offset, e.canonical_bytes()) for offset, e in enumerate(envelopes)]
    with engine.begin() as conn:
        outcome = applier.apply(conn, records)
    assert outcome.applied == len(envelopes), outcome


def project_entities(engine, producer: KafkaProducer, *envelopes: EventEnvelope) -> None:
    """Feed envelopes to membership's entity projection as its consumer would (one transaction)."""
    _project(engine, producer, ENTITY_PROJECTION_GROUP, entity_projection("membership"), "registry.events", envelopes)


def project_organizations(engine, producer: KafkaProducer, *envelopes: EventEnvelope) -> None:
    """Feed formation.events envelopes to membership's organization projection (one transaction)."""
    _project(engine, producer, ORGANIZATION_PROJECTION_GROUP, organization_projection("membership"),
             "formation.events", envelopes)


def new_id_number() -> str:
    """A valid identity number nobody else's test uses (random birth date and sequence)."""
    born = date.fromordinal(random.randint(date(1950, 1, 1).toordinal(), date(2000, 12, 31).toordinal()))
    first17 = f"4201{random.randint(2, 17):02d}{born:%Y%m%d}{random.randint(0, 999):03d}"
    return first17 + check_character(first17)


def token(kind: str, territory: str | None = None, user: str = "tester") -> dict[str, str]:
    department = f"{kind}:{territory}" if territory else kind
    principal = Principal(department=department, kind=kind, user=user, territory=territory)
    return {"Authorization": f"Bearer {issuer_from_settings().issue(principal)}"}
