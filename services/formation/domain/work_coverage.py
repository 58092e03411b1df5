"""R6 work coverage (the plan's 一, 二(六), 三(二)): the four ways, and guidance of new organizations.

An entity without an organization is work-covered through any of: an instructor (党建工作指导员) or first
secretary assigned to it, a mass organization (工青妇, recorded by ``mass_org``), education of its investor /
person in charge (出资人教育引导, recorded by 统战 and 工商联), or joint member development (联合发展党员: a Party
organization develops members for it). An assignment ends with an event; from its end it covers no more.
Each organization formed in the campaign gets a first secretary or instructor ("一对一""一对多"):
``unguided`` lists those without an active one. Pure: decisions return events or raise RuleViolation.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from platform_core.errors import RuleViolation
from platform_core.events import NewEvent

from .model import EntityFacts, Organization, workcoverage_stream

ROLE_ZH = {"instructor": "党建工作指导员", "first_secretary": "第一书记"}
WAY_ZH = {"instructor": "选派党建工作指导员", "first_secretary": "选派第一书记", "trade_union": "组建工会",
          "youth_league": "组建共青团", "womens_federation": "组建妇联", "investor_education": "出资人教育引导",
          "joint_member_development": "联合发展党员"}
EDUCATED_KINDS = ("non_public_enterprise", "social_organization")  # 三(二): 非公经济组织和社会组织出资人（负责人）


@dataclass(frozen=True)
class Assignment:
    """An instructor's or first secretary's assignment as formation's read table holds it."""

    assignment_id: str
    instructor_id: str
    role: str
    stream_id: str
    entity_ids: tuple[str, ...]
    organization_ids: tuple[str, ...]
    assigned_on: date
    ended_on: date | None = None

    @property
    def active(self) -> bool:
        return self.ended_on is None


def _distinct(ids: Sequence[str], field: str) -> None:
    if len(set(ids)) != len(ids):
        raise RuleViolation(f"{field} lists an id twice", field=field)


def _not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise RuleViolation(f"{field} {day} lies in the future", field=field, rule="R6")


def decide_assignment(assignment_id: str, instructor_id: str, role: str, entity_ids: Sequence[str],
                      organizations: Sequence[Organization], assigned_on: date, today: date,
                      assigned_by: str) -> NewEvent:
    """An instructor or first secretary for entities without an organization and/or organizations to guide.
    ``entity_ids`` in the event: the named entities, then every entity of the named organizations (so a
    projection needs no look-up)."""
    _distinct(list(entity_ids), "entity_ids")
    _distinct([o.organization_id for o in organizations], "organization_ids")
    _not_future(assigned_on, today, "assigned_on")
    for org in organizations:
        if not org.active:
            raise RuleViolation(f"R6: organization {org.organization_id} was dissolved on {org.dissolved_on}",
                                field="organization_ids", rule="R6")
        if assigned_on < org.formed_on:
            raise RuleViolation(f"R6: assigned_on {assigned_on} lies before {org.organization_id} was formed "
                                f"({org.formed_on})", field="assigned_on", rule="R6")
    covered = list(dict.fromkeys([*entity_ids, *(e for o in organizations for e in o.entity_ids)]))
    if not covered:
        raise RuleViolation("R6: name the entities or the organizations the assignment is for", field="entity_ids",
                            rule="R6")
    return NewEvent("InstructorAssigned", {
        "assignment_id": assignment_id, "instructor_id": instructor_id, "role": role, "entity_ids": covered,
        "organization_ids": [o.organization_id for o in organizations], "assigned_on": assigned_on.isoformat(),
        "assigned_by": assigned_by}, stream_id=workcoverage_stream(covered[0]))


def decide_end_assignment(assignment: Assignment, ended_on: date, reason: str, today: date) -> NewEvent:
    """The end of an assignment (调离、任期届满): from ``ended_on`` it work-covers nothing and guides nothing."""
    if not assignment.active:
        raise RuleViolation(f"R6: assignment {assignment.assignment_id} ended on {assignment.ended_on}",
                            field="assignment_id", rule="R6")
    if ended_on < assignment.assigned_on or ended_on > today:
        raise RuleViolation(f"ended_on {ended_on} must lie between the assignment ({assignment.assigned_on}) and "
                            "today", field="ended_on", rule="R6")
    return NewEvent("InstructorAssignmentEnded", {
        "assignment_id": assignment.assignment_id, "instructor_id": assignment.instructor_id,
        "role": assignment.role, "entity_ids": list(assignment.entity_ids),
        "organization_ids": list(assignment.organization_ids), "ended_on": ended_on.isoformat(), "reason": reason},
        stream_id=assignment.stream_id)


def decide_investor_education(education_id: str, entity_ids: Sequence[str], facts: Mapping[str, EntityFacts],
                              held_on: date, topic: str, today: date, recorded_by: str) -> NewEvent:
    """出资人教育引导 (统战, 工商联): a talk or a training of the entities' investors / persons in charge."""
    _distinct(list(entity_ids), "entity_ids")
    _not_future(held_on, today, "held_on")
    for entity_id in entity_ids:
        if facts[entity_id].kind not in EDUCATED_KINDS:
            raise RuleViolation(f"R6: entity {entity_id} is a {facts[entity_id].kind}; investors' education is for "
                                "non-public enterprises and social organizations (三(二))", field="entity_ids",
                                rule="R6")
    return NewEvent("InvestorEducationHeld", {
        "education_id": education_id, "entity_ids": list(entity_ids), "held_on": held_on.isoformat(),
        "topic": topic, "recorded_by": recorded_by}, stream_id=workcoverage_stream(entity_ids[0]))


def decide_joint_development(arrangement_id: str, entity_ids: Sequence[str], started_on: date,
                             organization: Organization | None, organization_name: str | None, today: date,
                             recorded_by: str) -> NewEvent:
    """联合发展党员: a Party organization (one of the campaign's, or one outside it, named) develops members for
    entities that have none of their own."""
    _distinct(list(entity_ids), "entity_ids")
    _not_future(started_on, today, "started_on")
    if (organization is None) == (not organization_name):
        raise RuleViolation("R6: name the developing Party organization: organization_id (formed in the campaign) "
                            "or organization_name (outside it), not both", field="organization_id", rule="R6")
    if organization is not None:
        if not organization.active:
            raise RuleViolation(f"R6: organization {organization.organization_id} was dissolved",
                                field="organization_id", rule="R6")
        organization_name = organization.name
    return NewEvent("JointMemberDevelopmentStarted", {
        "arrangement_id": arrangement_id, "entity_ids": list(entity_ids), "started_on": started_on.isoformat(),
        "organization_id": organization.organization_id if organization else None,
        "organization_name": organization_name, "recorded_by": recorded_by},
        stream_id=workcoverage_stream(entity_ids[0]))


def unguided(organizations: Iterable[Organization], assignments: Iterable[Assignment], campaign_starts: date,
             today: date) -> list[dict]:
    """Active organizations formed in the campaign without an active first secretary or instructor (一对一/一对多)."""
    guided = {o for a in assignments if a.active and a.assigned_on <= today for o in a.organization_ids}
    return [{"organization_id": o.organization_id, "name": o.name, "mode": o.mode, "district_code": o.district_code,
             "formed_on": o.formed_on, "entity_ids": list(o.entity_ids), "days_without": (today - o.formed_on).days,
             "rule": "R6", "reason": "新组建的党组织尚未选派第一书记或党建工作指导员（二(六)“一对一”“一对多”）"}
            for o in sorted(organizations, key=lambda o: (o.formed_on, o.organization_id))
            if o.active and o.formed_on >= campaign_starts and o.organization_id not in guided]
