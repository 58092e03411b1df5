"""An entity's derived status from everything the events say about it (R1-R6, R9).

One pure function, ``derive_status``, used by the PostgreSQL projection and by the
in-memory fold of the offline re-derivation alike, so both give the same figures.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from platform_core.rules.closing import overdue_after_acceptance, overdue_after_formation
from platform_core.rules.requirements import REASONS, member_required, required_reason_codes
from platform_core.rules.standalone import r3_violation

ORGANIZATION_MODES = ("standalone", "joint", "functional")


@dataclass(frozen=True)
class Inputs:
    """What the projection knows about one entity, gathered from all topics."""

    facts: Mapping[str, Any]  # EntityRegistered as updated by EntityProfileUpdated
    approved: bool = False  # some LedgerApproved listed it (R1)
    flags: frozenset[str] = frozenset()  # active shell/zombie/shadow flags
    membership_named: bool = False  # some membership event named this entity: its counts are authoritative
    formal_members: int = 0  # active members by primary registration (R5: each person once)
    probationary_members: int = 0
    organizations: tuple[tuple[str, str], ...] = ()  # (organization id, mode) covering it
    formation_named: bool = False  # formation recorded an organization for it: the survey's declaration is moot
    work_sources: int = 0  # instructors / first secretaries / mass organizations (R6)
    federation_member: bool = False  # on 工商联's latest list of member enterprises
    task_state: str | None = None  # from OrganizationClosed / TaskReopened (R9)


@dataclass(frozen=True)
class EntityStatus:
    entity_id: str
    name: str
    kind: str
    subtype: str
    district_code: str
    street_code: str
    department: str  # the responsible unit: district-<code>, civil-affairs or supervisor-<code> (R8)
    in_baseline: bool
    flags: tuple[str, ...]
    employees: int
    formal_members: int
    probationary_members: int
    organizations: tuple[tuple[str, str], ...]
    organization_covered: bool  # by an organization formation records, or declared by the survey (R7)
    standalone_covered: bool
    work_covered: bool
    two_covered: bool
    required_reason: str | None  # R2
    member_required_reason: str | None  # R2b
    member_requirement_met: bool
    r3_violation: bool
    task_state: str
    # the survey's 党组织情况 when it counts: formation has not recorded an organization for the entity yet
    declared_organization: str | None = None
    overdue_after_formation: bool = False  # R9: overdue once the formation milestone (11-20) has passed
    overdue_after_acceptance: bool = False  # R9: overdue once the acceptance checks (12-05) have ended
    federation_member: bool = False  # a member enterprise of the federation of industry & commerce (工商联)
    modes: tuple[str, ...] = field(default=())
    # for segments: every R2 reason (keys of REASONS; required_reason is the first's text), and two facts
    required_reasons: tuple[str, ...] = field(default=())
    industry: str | None = None
    above_scale: bool = False


def responsible_unit(facts: Mapping[str, Any]) -> str:
    """R8 / the plan's 二(三): who answers for the entity. City-level social organizations belong to
    their supervising unit (aggregated by the city organs' working committee) or, without one,
    to civil affairs; everything else to its district."""
    if facts.get("kind") == "social_organization" and facts.get("level") == "city":
        supervisor = facts.get("supervising_department")
        return f"supervisor-{supervisor}" if supervisor else "civil-affairs"
    return f"district-{facts['district_code']}"


def derive_status(entity_id: str, inputs: Inputs) -> EntityStatus:
    facts = inputs.facts
    # Membership's count is authoritative from the first membership event naming the entity, 0 included
    # (a member transferred out no longer counts here); before that the survey's declared figures.
    formal = inputs.formal_members if inputs.membership_named else int(facts.get("formal_members") or 0)
    probationary = (inputs.probationary_members if inputs.membership_named
                    else int(facts.get("probationary_members") or 0))
    counted = dict(facts, formal_members=formal, probationary_members=probationary)
    organizations = tuple(sorted(set(inputs.organizations)))
    declared = facts.get("party_organization")
    declared = declared if declared in ORGANIZATION_MODES and not inputs.formation_named else None
    modes = tuple(sorted({mode for _, mode in organizations} | ({declared} if declared else set())))
    covered = bool(modes)  # the survey's declared organization counts until formation records one
    standalone = "standalone" in modes
    work = not covered and inputs.work_sources > 0  # R6: work coverage counts where no organization exists
    required_reasons = required_reason_codes(counted)
    required_reason = REASONS[required_reasons[0]] if required_reasons else None  # the first reason, in words
    member_reason = member_required(counted)
    task_state = inputs.task_state or ("organization_formed" if organizations else "declared" if declared
                                       else "open")
    if task_state == "closed" and not covered:
        task_state = "open"  # a dissolved organization reopens the task even before TaskReopened arrives
    required = required_reason is not None
    return EntityStatus(
        entity_id=entity_id, name=str(facts.get("name", "")), kind=facts["kind"], subtype=facts["subtype"],
        district_code=facts["district_code"], street_code=facts["street_code"],
        department=responsible_unit(facts), in_baseline=inputs.approved and not inputs.flags,
        flags=tuple(sorted(inputs.flags)), employees=int(facts.get("employees") or 0),
        formal_members=formal, probationary_members=probationary, organizations=organizations,
        organization_covered=covered, standalone_covered=standalone, work_covered=work,
        two_covered=covered or work, required_reason=required_reason,
        member_required_reason=member_reason,
        member_requirement_met=member_reason is None or formal + probationary > 0,
        r3_violation=r3_violation(formal, modes), task_state=task_state, declared_organization=declared,
        overdue_after_formation=overdue_after_formation(required, covered, work),
        overdue_after_acceptance=overdue_after_acceptance(required, covered, work, task_state == "closed"),
        federation_member=inputs.federation_member,
        modes=modes, required_reasons=required_reasons, industry=facts.get("industry") or None,
        above_scale=bool(facts.get("above_scale")))
