"""Envelopes for the detectors' unit tests: each helper builds one event as the services publish it."""

import uuid
from datetime import date, datetime, time, timedelta
from itertools import count

from platform_core.envelope import Actor, EventEnvelope
from platform_core.reference import load_calendar
from platform_core.reference.city_time import CITY_TIME
from reporting.domain.signals import detect_all, fold
from reporting_scenario import DISTRICT_A, DISTRICT_B, ent, mem, org

__all__ = ["DISTRICT_A", "DISTRICT_B", "ent", "org"]

_ids = count(1)


def at(day: date, minutes: int = 0) -> datetime:
    return datetime.combine(day, time(9), CITY_TIME) + timedelta(minutes=minutes)


def envelope(event_type: str, stream: str, payload: dict, when: datetime,
             actor: Actor = Actor(department="district_org:420102", user="clerk")) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.UUID(int=next(_ids)), type=event_type, schema_version=1, stream_id=stream,
                         stream_version=1, occurred_at=when, recorded_at=when, actor=actor, payload=payload)


def registered(n: int, district: str = DISTRICT_A, street: str | None = None, person: str | None = None,
               address: str | None = None, hash_key: str = "k" * 16) -> EventEnvelope:
    persons = {"ref": f"persons-{uuid.UUID(int=n)}", "hash_key": hash_key,
               "legal_representative_hash": person, "address_hash": address}
    return envelope("EntityRegistered", ent(n), {
        "entity_id": ent(n), "name": f"单位{n}", "district_code": district,
        "street_code": street or f"{district}001", "personal_data": persons}, at(date(2016, 8, 20)))


def member_found(m: int, entity: int, day: date = date(2016, 8, 30)) -> EventEnvelope:
    return envelope("MemberRegistered", mem(m), {"member_id": mem(m), "standing": "formal",
                                                 "admitted_on": "2010-01-01", "entity_id": ent(entity)}, at(day))


def transferred(m: int, source: int, target: int, day: date, minutes: int = 0) -> EventEnvelope:
    return envelope("MemberTransferred", mem(m), {"member_id": mem(m), "from_entity_id": ent(source),
                                                  "to_entity_id": ent(target), "to_outside_organization": "社区党委"},
                    at(day, minutes))


def formed(o: int, entities: list[int], day: date, mode: str = "standalone", district: str = DISTRICT_A,
           formal: dict[int, int] | None = None) -> EventEnvelope:
    return envelope("OrganizationFormed", org(o), {
        "organization_id": org(o), "mode": mode, "entity_ids": [ent(e) for e in entities], "name": f"党支部{o}",
        "district_code": district, "formed_on": day.isoformat(),
        "formal_members": {ent(e): n for e, n in (formal or {}).items()}}, at(day))


def dissolved(o: int, entities: list[int], day: date) -> EventEnvelope:
    return envelope("OrganizationDissolved", org(o), {"organization_id": org(o), "mode": "standalone",
                                                      "entity_ids": [ent(e) for e in entities],
                                                      "dissolved_on": day.isoformat(), "reason": "撤销"}, at(day))


def restructured(o: int, entities: list[int], day: date) -> EventEnvelope:
    return envelope("OrganizationRestructured", org(o), {
        "organization_id": org(o), "mode": "joint", "entity_ids": [ent(e) for e in entities],
        "new_organization_id": org(o + 500), "restructured_on": day.isoformat(), "reason": "单独组建"}, at(day))


def checked(o: int, entities: list[int], day: date, passed: bool = True, kind: str = "acceptance",
            minutes: int = 0, user: str = "checker") -> EventEnvelope:
    return envelope("OrganizationChecked", org(o), {
        "organization_id": org(o), "mode": "standalone", "entity_ids": [ent(e) for e in entities],
        "check_id": f"check-{uuid.uuid4()}", "check_kind": kind, "passed": passed, "checked_on": day.isoformat(),
        "inspector_unit": "district_org"}, at(day, minutes), Actor(department="district_org:420102", user=user))


def reported(district: str, deadline: date, covered: int) -> EventEnvelope:
    return envelope("ReportSubmitted", f"report-district-{district}-{deadline}", {
        "report_id": f"report-{uuid.uuid4()}", "unit": f"district-{district}", "deadline": deadline.isoformat(),
        "figures": {"organization_covered": covered}}, at(deadline))


def kinds(events, kind: str, calendar=None):
    """The signals of one kind that the detectors find in ``events`` (the default campaign's thresholds)."""
    return [s for s in detect_all(fold(events), calendar or load_calendar()) if s.kind == kind]
