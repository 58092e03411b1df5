"""An entity's derived status from everything the events say about it (R1-R6, R9).

One pure function, ``derive_status``, used by the PostgreSQL projection and by the
in-memory fold of the offline re-derivation alike, so both give the same figures.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.domain.requirements import member_required, organization_required

STANDALONE_MINIMUM = 3  # R3: >= 3 formal members -> its own organization


@dataclass(frozen=True)
class Inputs:
    """What the projection knows about one entity, gathered from all topics."""

    facts: Mapping[str, Any]  # EntityRegistered as updated by EntityProfileUpdated
    approved: bool = False  # some LedgerApproved listed it (R1)
    flags: frozenset[str] = frozenset()  # active shell/zombie/shadow flags
    members_known: bool = False  # membership has recorded members at this entity
    formal_members: int = 0  # active members by primary registration (R5: each person once)
    probationary_members: int = 0
    organizations: tuple[tuple[str, str], ...] = ()  # (organization id, mode) covering it
    work_sources: int = 0  # instructors / first secretaries / mass organizations (R6)
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
    organization_covered: bool
    standalone_covered: bool
    work_covered: bool
    two_covered: bool
    required_reason: str | None  # R2
    member_required_reason: str | None  # R2b
    member_requirement_met: bool
    r3_violation: bool
    task_state: str
    modes: tuple[str, ...] = field(default=())


def responsible_unit(facts: Mapping[str, Any]) -> str:
    """R8 / seed 二(三): who answers for the entity. City-level social organizations belong to
    their supervising unit (aggregated by the city organs' working committee) or, without one,
    to civil affairs; everything else to its district."""
    if facts.get("kind") == "social_organization" and facts.get("level") == "city":
        supervisor = facts.get("supervising_department")
        return f"supervisor-{supervisor}" if supervisor else "civil-affairs"
    return f"district-{facts['district_code']}"


def derive_status(entity_id: str, inputs: Inputs) -> EntityStatus:
    facts = inputs.facts
    # Membership's records win once it has any for the entity; until then the survey's figures.
    formal = inputs.formal_members if inputs.members_known else int(facts.get("formal_members") or 0)
    probationary = (inputs.probationary_members if inputs.members_known
                    else int(facts.get("probationary_members") or 0))
    counted = dict(facts, formal_members=formal, probationary_members=probationary)
    organizations = tuple(sorted(set(inputs.organizations)))
    modes = tuple(sorted({mode for _, mode in organizations}))
    covered = bool(organizations)
    standalone = "standalone" in modes
    work = not covered and inputs.work_sources > 0  # R6: work coverage counts where no organization exists
    member_reason = member_required(counted)
    task_state = inputs.task_state or ("organization_formed" if covered else "open")
    if task_state == "closed" and not covered:
        task_state = "open"  # a dissolved organization reopens the task even before TaskReopened arrives
    return EntityStatus(
        entity_id=entity_id, name=str(facts.get("name", "")), kind=facts["kind"], subtype=facts["subtype"],
        district_code=facts["district_code"], street_code=facts["street_code"],
        department=responsible_unit(facts), in_baseline=inputs.approved and not inputs.flags,
        flags=tuple(sorted(inputs.flags)), employees=int(facts.get("employees") or 0),
        formal_members=formal, probationary_members=probationary, organizations=organizations,
        organization_covered=covered, standalone_covered=standalone, work_covered=work,
        two_covered=covered or work, required_reason=organization_required(counted),
        member_required_reason=member_reason,
        member_requirement_met=member_reason is None or formal + probationary > 0,
        r3_violation=formal >= STANDALONE_MINIMUM and covered and not standalone and "joint" in modes,
        task_state=task_state, modes=modes)


def derive_all(items: Iterable[tuple[str, Inputs]]) -> list[EntityStatus]:
    return [derive_status(entity_id, inputs) for entity_id, inputs in items if inputs.facts]
