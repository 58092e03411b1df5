"""Realistic campaign events for benchmarks: contract-valid payloads, the mix of a real campaign.

Per entity, about six events on average over the services' streams: registration (附表1), the
members found in the survey, a ledger approval per 200 entities, an organization (standalone, or
joint for three small entities) or an instructor, a profile update, confirmations, task closing.
Deterministic for a seed, so the three sizes of the growth table are the same campaign cut short.
"""

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from platform_core.contracts import every_event_type
from platform_core.envelope import Actor, EventEnvelope, canonical_json, utc_timestamp
from platform_core.reference import load_territory

START = datetime(2016, 8, 20, 1, 0, tzinfo=timezone.utc)
SERVICE_OF = {"Entity": "registry", "Ledger": "registry", "Member": "membership"}
CONTRACTS = every_event_type()  # each event is written at its type's latest version
INDUSTRIES = ("internet", "manufacturing", "retail", "logistics", "finance", "construction", "catering")


@dataclass(frozen=True)
class CampaignEvent:
    service: str
    stream_id: str
    stream_version: int
    type: str
    payload: dict


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _uscc(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return "91" + "".join(rng.choice(alphabet) for _ in range(16))


def _entity(rng: random.Random, entity: str, district: str, n: int) -> dict:
    employees = rng.choice((3, 8, 15, 25, 40, 60, 120, 300))
    formal = rng.choice((0, 0, 1, 2, 3, 4, 6))
    return {"entity_id": entity, "uscc": _uscc(rng), "name": f"武汉示例{n}科技有限公司",
            "kind": "non_public_enterprise",
            "subtype": "private", "district_code": district, "street_code": f"{district}{rng.randint(1, 12):03d}",
            "level": "district", "industry": rng.choice(INDUSTRIES), "employees": employees,
            "above_scale": employees >= 100, "formal_members": formal, "probationary_members": rng.choice((0, 0, 1)),
            "operation_status": "operating", "party_organization": "none",
            # the persons as the registry's events carry them: a sealed record's reference and keyed hashes
            "personal_data": {"ref": f"persons-{_uuid(rng)}", "hash_key": "b0b0b0b0b0b0b0b0",
                              **{f"{field}_hash": hashlib.sha256(f"{field}{n}".encode()).hexdigest()
                                 for field in ("person_in_charge", "legal_representative", "address")}},
            "public_sector_staffed": None}


def campaign_events(count: int, seed: int = 2016) -> Iterator[CampaignEvent]:
    """The first ``count`` events of a synthetic campaign (in recorded order)."""
    rng = random.Random(seed)
    districts = [d.code for d in load_territory().districts]
    produced, n, ledger = 0, 0, []
    pending_joint: list[str] = []
    while True:
        n += 1
        entity_uuid = _uuid(rng)
        entity, district = f"entity-{entity_uuid}", rng.choice(districts)
        facts = _entity(rng, entity, district, n)
        events = [CampaignEvent("registry", entity, 1, "EntityRegistered", facts)]
        members = [f"member-{_uuid(rng)}" for _ in range(facts["formal_members"] + facts["probationary_members"])]
        for i, member in enumerate(members):
            standing = "formal" if i < facts["formal_members"] else "probationary"
            events.append(CampaignEvent("membership", member, 1, "MemberRegistered", {
                "member_id": member, "standing": standing, "admitted_on": "2015-10-01", "entity_id": entity}))
        ledger.append(entity)
        if len(ledger) == 200:
            unit = f"{district}001"
            events.append(CampaignEvent("registry", f"ledger-{unit}-{n}", 1, "LedgerApproved", {
                "unit": unit, "unit_kind": "street", "district_code": district, "submission": 1,
                "entity_ids": ledger, "entity_count": len(ledger)}))
            ledger = []
        events.append(CampaignEvent("registry", entity, 2, "EntityProfileUpdated", {
            "entity_id": entity, "changed": ["employees"], "employees": facts["employees"] + 1}))
        covered = []
        if facts["formal_members"] >= 3:
            covered = [entity]
        else:
            pending_joint.append(entity)
            if len(pending_joint) == 3:
                covered, pending_joint = pending_joint, []
        if covered:
            organization = f"organization-{_uuid(rng)}"
            events.append(CampaignEvent("formation", organization, 1, "OrganizationFormed", {
                "organization_id": organization, "mode": "standalone" if len(covered) == 1 else "joint",
                "entity_ids": covered, "name": f"示例{n}党支部", "district_code": district,
                "formed_on": "2016-10-20", "grouping_basis": None if len(covered) == 1 else "region",
                "affiliation": {"kind": "territorial", "unit": district, "name": "区委组织部"}}))
            for covered_entity in covered:
                if rng.random() < 0.5:
                    events.append(CampaignEvent("formation", f"task-{covered_entity[7:]}", 1, "OrganizationClosed", {
                        "organization_id": organization, "mode": "standalone" if len(covered) == 1 else "joint",
                        "entity_ids": [covered_entity], "entity_id": covered_entity,
                        "check_id": f"check-{_uuid(rng)}", "closed_on": "2016-11-10"}))
        elif rng.random() < 0.3:
            events.append(CampaignEvent("formation", f"workcoverage-{entity_uuid}", 1, "InstructorAssigned", {
                "assignment_id": f"assignment-{_uuid(rng)}", "instructor_id": f"instructor-{_uuid(rng)}",
                "role": "instructor", "entity_ids": [entity], "assigned_on": "2016-10-15",
                "assigned_by": "district_org"}))
        for member in members[facts["formal_members"]:]:
            events.append(CampaignEvent("membership", member, 2, "MemberConfirmed", {
                "member_id": member, "admitted_on": "2015-10-01", "confirmed_on": "2016-10-01"}))
        for event in events:
            yield event
            produced += 1
            if produced == count:
                return


def envelope(event: CampaignEvent, index: int) -> EventEnvelope:
    """The event as the store would record it (recorded_at spread over the campaign, 7 ms apart)."""
    moment = START + timedelta(milliseconds=index * 7)
    return EventEnvelope(event_id=uuid.uuid4(), type=event.type, schema_version=CONTRACTS.latest_version(event.type), stream_id=event.stream_id,
                         stream_version=event.stream_version, occurred_at=moment, recorded_at=moment,
                         actor=Actor(department=f"district_org:{event.payload.get('district_code', '420102')}",
                                     user="bench"),
                         payload=event.payload)


def canonical_bytes(event: CampaignEvent, index: int) -> bytes:
    """``envelope(event, index).canonical_bytes()`` without pydantic (6x faster; the same shape)."""
    moment = utc_timestamp(START + timedelta(milliseconds=index * 7))
    return canonical_json({
        "event_id": str(uuid.uuid4()), "type": event.type, "schema_version": CONTRACTS.latest_version(event.type), "stream_id": event.stream_id,
        "stream_version": event.stream_version, "occurred_at": moment, "recorded_at": moment,
        "actor": {"department": f"district_org:{event.payload.get('district_code', '420102')}", "user": "bench"},
        "payload": event.payload})


def check_contracts(count: int = 2000) -> None:
    """Every generated payload is valid under its service's contract (raises otherwise)."""
    from platform_core.contracts import event_types_for

    registry = event_types_for("registry", "membership", "formation")
    for event in campaign_events(count):
        registry.validate_payload(event.type, event.payload)
    first = next(campaign_events(1))
    raw = canonical_bytes(first, 0)
    if EventEnvelope.from_bytes(raw).canonical_bytes() != raw:
        raise AssertionError("canonical_bytes differs from the envelope's")


if __name__ == "__main__":
    check_contracts()
    print("2000 generated events are contract-valid")
