"""A small campaign as events, for the hand-computed rate tests (unit: in-memory fold;
integration: through Kafka and the PostgreSQL projection). Expected figures are worked
out by hand in the tests, not here.

E1  NPE 100 employees, 3 formal, 1 probationary (survey)   R2 (boundary 100), standalone O1, task closed
E2  NPE 99 employees, no members                           not R2 (99); R2b not met; instructor (work)
E3  NPE 50 employees, 1 formal                             R2b met (boundary 50); joint O2
E4  NPE 49 employees, 1 formal; zombie flag set then cleared   joint O2
E5  rural entity, 1 formal                                 joint O2
E6  NPE 30 employees, survey 2 formal; membership: 4 formal registered, 1 transferred to E8
                                                           -> 3 formal, only joint O2: R3 violation (boundary 3)
E7  NPE 120 employees, shadow of E8                        out of the baseline
E8  NPE 150 employees, survey 0 formal, 1 member transferred in   R2 not covered; R2b met
E9  law firm (district B), mass organization               R2 not covered; work-covered
E10 city-level social group, no supervising unit           R2; functional O3 (covered, not standalone)
E11 city-level private school, 30 staff, education         R2; standalone O4; check failed -> task reopened
E12 registered, never approved                             not in the baseline
E13 NPE 20 employees, 3 formal: in joint O2, restructured into standalone O5
E14 NPE 10 employees: O6 formed then dissolved             not covered
工商联's list (two parts) names E1 and E3 as member enterprises: both organization-covered.
"""

import uuid
from datetime import datetime, timedelta, timezone

from platform_core.contracts import event_types_for
from platform_core.envelope import Actor, EventEnvelope

DISTRICT_A, DISTRICT_B = "420102", "420103"
START = datetime(2016, 9, 1, 2, 0, tzinfo=timezone.utc)
REGISTRY = event_types_for("registry", "membership", "formation", "reporting")


def _uuid(n: int, prefix: str) -> str:
    return f"{prefix}-{uuid.UUID(int=n * 7919 + len(prefix)):}"


def ent(n: int) -> str:
    return f"entity-{uuid.UUID(int=1000 + n)}"


def org(n: int) -> str:
    return f"organization-{uuid.UUID(int=2000 + n)}"


def mem(n: int) -> str:
    return f"member-{uuid.UUID(int=3000 + n)}"


def uscc(n: int) -> str:
    return f"91420102MA4K{n:05d}X"[:17] + "0"


class Scenario:
    def __init__(self, start: datetime = START):
        self.clock = start
        self.versions: dict[str, int] = {}
        self.events: list[tuple[str, EventEnvelope]] = []  # (service, envelope)

    def emit(self, service: str, stream: str, event_type: str, payload: dict, step: timedelta = timedelta(hours=1),
             at: datetime | None = None):
        schema_version, _ = REGISTRY.validate_payload(event_type, payload)
        self.clock = at if at is not None else self.clock + step
        version = self.versions.get(stream, 0) + 1
        self.versions[stream] = version
        envelope = EventEnvelope(event_id=uuid.uuid4(), type=event_type, schema_version=schema_version, stream_id=stream,
                                 stream_version=version, occurred_at=self.clock, recorded_at=self.clock,
                                 actor=Actor(department="test", user="scenario"), payload=payload)
        self.events.append((service, envelope))
        return envelope

    def register(self, n: int, kind="non_public_enterprise", subtype="private", employees=10, formal=0,
                 probationary=0, district=DISTRICT_A, level=None, supervisor=None, industry="manufacturing"):
        self.emit("registry", ent(n), "EntityRegistered", {
            "entity_id": ent(n), "uscc": f"9142010{n:02d}MA4KAAAA0", "name": f"测试单位{n}", "kind": kind,
            "subtype": subtype, "district_code": district, "street_code": district + "001", "level": level,
            "supervising_department": supervisor, "industry": industry, "employees": employees,
            "above_scale": False, "formal_members": formal, "probationary_members": probationary,
            "operation_status": "operating", "party_organization": "none", "personal_data": None})

    def approve(self, unit: str, entity_numbers: list[int], district=DISTRICT_A):
        self.emit("registry", f"ledger-{unit}", "LedgerApproved", {
            "unit": unit, "unit_kind": "street", "district_code": district, "submission": 1,
            "entity_count": len(entity_numbers), "entity_ids": [ent(n) for n in entity_numbers]})

    def form(self, o: int, mode: str, entity_numbers: list[int], district=DISTRICT_A, restructured_from=None):
        self.emit("formation", org(o), "OrganizationFormed", {
            "organization_id": org(o), "mode": mode, "entity_ids": [ent(n) for n in entity_numbers],
            "name": f"党支部{o}", "district_code": district, "formed_on": self.clock.date().isoformat(),
            "grouping_basis": "region" if mode == "joint" else None,
            "affiliation": {"kind": "territorial", "unit": district, "name": "区委"},
            "restructured_from": restructured_from})

    def report(self, n: int, unit: str, deadline: str, figures: dict, at: datetime):
        self.emit("reporting", f"report-{unit}-{deadline}", "ReportSubmitted", {
            "report_id": f"report-{uuid.UUID(int=4000 + n)}", "unit": unit, "deadline": deadline, "figures": figures},
            at=at)

    def member(self, m: int, entity: int, standing="formal", organization=None):
        self.emit("membership", mem(m), "MemberRegistered", {
            "member_id": mem(m), "standing": standing, "admitted_on": "2010-01-01", "entity_id": ent(entity),
            "organization_id": organization})


def campaign() -> Scenario:
    s = Scenario()
    s.register(1, employees=100, formal=3, probationary=1)
    s.register(2, employees=99)
    s.register(3, employees=50, formal=1)
    s.register(4, employees=49, formal=1)
    s.register(5, kind="rural_entity", subtype="farmers_cooperative", formal=1)
    s.register(6, employees=30, formal=2)
    s.register(7, employees=120)
    s.register(8, employees=150)
    s.register(9, kind="social_organization", subtype="law_firm", employees=12, district=DISTRICT_B,
               level="district")
    s.register(10, kind="social_organization", subtype="social_group", employees=5, level="city")
    s.register(11, kind="social_organization", subtype="private_school", employees=30, formal=5, level="city",
               supervisor="education")
    s.register(12, employees=500)
    s.register(13, employees=20, formal=3)
    s.register(14, employees=10)
    s.approve(f"street-{DISTRICT_A}001", [1, 2, 3, 4, 5, 6, 7, 8, 13, 14])
    s.approve(f"district-{DISTRICT_B}-social", [9], district=DISTRICT_B)
    s.approve("civil-affairs", [10], district=None)
    s.approve("supervisor-education", [11], district=None)
    s.emit("registry", ent(7), "EntityFlagged", {"entity_id": ent(7), "flag": "shadow", "duplicate_of": ent(8),
                                                  "reason": "多重注册"})
    s.emit("registry", ent(4), "EntityFlagged", {"entity_id": ent(4), "flag": "zombie", "duplicate_of": None,
                                                  "reason": "久不运转"})
    s.emit("registry", ent(4), "EntityFlagCleared", {"entity_id": ent(4), "flag": "zombie", "reason": "已恢复经营"})
    for m in range(1, 5):
        s.member(m, 6)
    s.emit("membership", mem(4), "MemberTransferred", {
        "member_id": mem(4), "from_organization_id": org(2), "from_entity_id": ent(6),
        "to_organization_id": org(9), "to_entity_id": ent(8)})
    s.form(1, "standalone", [1])
    s.form(2, "joint", [3, 4, 5, 6, 13])
    s.form(3, "functional", [10], district=DISTRICT_A)
    s.form(4, "standalone", [11])
    s.emit("formation", org(2), "OrganizationRestructured", {
        "organization_id": org(2), "mode": "joint", "entity_ids": [ent(13)], "new_organization_id": org(5),
        "remaining_entity_ids": [ent(3), ent(4), ent(5), ent(6)], "restructured_on": "2016-10-01",
        "reason": "R3"})
    s.form(5, "standalone", [13], restructured_from=org(2))
    s.form(6, "standalone", [14])
    s.emit("formation", org(6), "OrganizationDissolved", {
        "organization_id": org(6), "mode": "standalone", "entity_ids": [ent(14)], "dissolved_on": "2016-10-02",
        "reason": "企业注销"})
    s.emit("formation", f"workcoverage-{ent(2)[7:]}", "InstructorAssigned", {
        "assignment_id": f"assignment-{uuid.UUID(int=1)}", "instructor_id": f"instructor-{uuid.UUID(int=2)}",
        "role": "instructor", "entity_ids": [ent(2)], "assigned_on": "2016-10-03", "assigned_by": "district_org"})
    s.emit("formation", f"workcoverage-{ent(9)[7:]}", "MassOrganizationFormed", {
        "mass_organization_id": f"massorg-{uuid.UUID(int=3)}", "kind": "trade_union", "entity_ids": [ent(9)],
        "name": "工会", "formed_on": "2016-10-03"})
    check1, check2 = f"check-{uuid.UUID(int=11)}", f"check-{uuid.UUID(int=12)}"
    s.emit("formation", org(1), "OrganizationChecked", {
        "organization_id": org(1), "mode": "standalone", "entity_ids": [ent(1)], "check_id": check1,
        "passed": True, "checked_on": "2016-11-22", "inspector_unit": "city_org"})
    s.emit("formation", f"task-{ent(1)[7:]}", "OrganizationClosed", {
        "organization_id": org(1), "mode": "standalone", "entity_ids": [ent(1)], "entity_id": ent(1),
        "check_id": check1, "closed_on": "2016-11-22"})
    s.emit("formation", org(4), "OrganizationChecked", {
        "organization_id": org(4), "mode": "standalone", "entity_ids": [ent(11)], "check_id": check2,
        "passed": True, "checked_on": "2016-11-23", "inspector_unit": "city_org"})
    s.emit("formation", f"task-{ent(11)[7:]}", "OrganizationClosed", {
        "organization_id": org(4), "mode": "standalone", "entity_ids": [ent(11)], "entity_id": ent(11),
        "check_id": check2, "closed_on": "2016-11-23"})
    check3 = f"check-{uuid.UUID(int=13)}"
    s.emit("formation", org(4), "OrganizationChecked", {
        "organization_id": org(4), "mode": "standalone", "entity_ids": [ent(11)], "check_id": check3,
        "check_kind": "spot_check", "passed": False, "findings": ["组织生活不规范"], "checked_on": "2016-11-28",
        "inspector_unit": "city_org"})
    s.emit("formation", f"task-{ent(11)[7:]}", "TaskReopened", {
        "organization_id": org(4), "mode": "standalone", "entity_ids": [ent(11)], "entity_id": ent(11),
        "reason": "spot_check_failed", "state": "checked", "check_id": check3, "reopened_on": "2016-11-28"})
    for part, members in ((1, [1]), (2, [3])):
        s.emit("registry", "verification-federation_commerce", "VerificationListImported", {
            "list_id": f"verificationlist-{uuid.UUID(int=5000)}", "department": "federation_commerce",
            "territory": None, "submission": 1, "import_id": "import-1", "row_count": 2, "matched_count": 2,
            "registered_differently_count": 0, "not_in_registry_count": 0, "member_count": 2, "part": part,
            "parts": 2, "entity_ids": [ent(n) for n in members], "member_entity_ids": [ent(n) for n in members]})
    # Semi-monthly reports for the 2016-09-10 deadline (R11): district A on time (18:00 city time on the
    # 10th) but reporting 7 organization-covered where the events show 6; district B a day late.
    s.report(1, f"district-{DISTRICT_A}", "2016-09-10", {"baseline": 9, "organization_covered": 7},
             at=datetime(2016, 9, 10, 10, 0, tzinfo=timezone.utc))
    s.report(2, f"district-{DISTRICT_B}", "2016-09-10", {"baseline": 1, "organization_covered": 0},
             at=datetime(2016, 9, 11, 1, 0, tzinfo=timezone.utc))
    return s


def bulk(entities: int, seed: int = 7) -> Scenario:
    """A larger random campaign (fresh ids) for load and crash tests: registrations, ledger
    approvals in parts of 1,000, members, and organizations of every mode."""
    import random

    rng = random.Random(seed)
    s = Scenario()
    ids = [f"entity-{uuid.UUID(int=rng.getrandbits(128))}" for _ in range(entities)]
    for number, entity in enumerate(ids):
        district = rng.choice([DISTRICT_A, DISTRICT_B])
        s.emit("registry", entity, "EntityRegistered", {
            "entity_id": entity, "uscc": "91420102MA4KAAAA0X"[:17] + "0", "name": f"单位{number}",
            "kind": "non_public_enterprise", "subtype": "private", "district_code": district,
            "street_code": district + "001", "industry": "manufacturing", "employees": rng.randint(0, 200),
            "formal_members": rng.randint(0, 5), "probationary_members": 0, "operation_status": "operating",
            "party_organization": "none", "personal_data": None}, step=timedelta(seconds=1))
    for part in range(0, entities, 1000):
        chunk = ids[part:part + 1000]
        s.emit("registry", "ledger-bulk", "LedgerApproved", {
            "unit": "bulk", "unit_kind": "street", "district_code": None, "submission": 1,
            "entity_count": entities, "entity_ids": chunk, "part": part // 1000 + 1,
            "parts": (entities + 999) // 1000}, step=timedelta(seconds=1))
    for number, entity in enumerate(ids):
        if number % 3 == 0:
            member = f"member-{uuid.UUID(int=rng.getrandbits(128))}"
            s.emit("membership", member, "MemberRegistered", {
                "member_id": member, "standing": "formal", "admitted_on": "2010-01-01", "entity_id": entity,
                "organization_id": None}, step=timedelta(seconds=1))
        if number % 4 == 0:
            organization = f"organization-{uuid.UUID(int=rng.getrandbits(128))}"
            mode = rng.choice(["standalone", "joint", "functional"])
            s.emit("formation", organization, "OrganizationFormed", {
                "organization_id": organization, "mode": mode, "entity_ids": [entity], "name": "党支部",
                "district_code": DISTRICT_A, "formed_on": "2016-10-01",
                "affiliation": {"kind": "territorial", "unit": DISTRICT_A, "name": "区委"}},
                step=timedelta(seconds=1))
    return s
