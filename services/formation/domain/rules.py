"""The formation rules: R3 standalone, R4 joint, R5 functional, R8 affiliation, R9 closing (R12 windows: ``checks``).

Each ``decide_*`` takes what the handler loaded and returns the events to append,
or raises RuleViolation naming the rule and the field.
"""

from collections.abc import Mapping, Sequence
from datetime import date

from platform_core.errors import RuleViolation
from platform_core.events import NewEvent
from platform_core.rules.requirements import MUST_STAND_ALONE
from platform_core.rules.standalone import JOINT_MINIMUM, r3_violation

from .checks import CheckWindow, require_in_window
from .model import (Coverage, EntityFacts, FormOrganization, Organization,
                    ProjectedFactRefusal, RecordCheck, TaskStatus, task_stream)


# -- R8 affiliation ----------------------------------------------------------------------------------
def derive_affiliation(entities: Sequence[EntityFacts], territory_names: Mapping[str, str] | None = None,
                       supervisor_names: Mapping[str, str] | None = None) -> dict:
    """R8: non-public and rural -> territorial; city-level social organization -> its supervising
    department (civil affairs if none); district-level social organization -> territorial (the district).
    Several entities: the first entity's rule, territorial to their common street if they share one."""
    names, supervisors = territory_names or {}, supervisor_names or {}
    first = entities[0]
    if first.kind == "social_organization" and first.level == "city":
        if first.supervising_department:
            code = first.supervising_department
            return {"kind": "supervising_department", "unit": code, "name": supervisors.get(code, code)}
        return {"kind": "civil_affairs", "unit": "civil_affairs", "name": "民政局"}
    if first.kind == "social_organization":
        unit = first.district_code
    else:
        streets = {e.street_code for e in entities}
        districts = {e.district_code for e in entities}
        unit = (streets.pop() if len(streets) == 1 and None not in streets
                else districts.pop() if len(districts) == 1 else first.district_code)
    return {"kind": "territorial", "unit": unit, "name": names.get(unit, unit)}


# -- R3 / R4 / R5 formation ---------------------------------------------------------------------------
def decide_form(command: FormOrganization, facts: Mapping[str, EntityFacts], coverage: Mapping[str, Coverage],
                affiliation: dict, today: date, restructured_from: str | None = None) -> list[NewEvent]:
    ids = list(command.entity_ids)
    if len(set(ids)) != len(ids):
        raise RuleViolation("entity_ids lists an entity twice", field="entity_ids")
    if command.formed_on > today:
        raise RuleViolation(f"formed_on {command.formed_on} lies in the future", field="formed_on")
    for entity_id in ids:
        if entity_id not in facts:
            raise unknown_entity(entity_id)
    counts = {e: facts[e].formal_members for e in ids}
    if command.mode == "standalone":
        _check_standalone(ids, counts, coverage, restructured_from)
    elif command.mode == "joint":
        _check_joint(command, ids, counts, coverage)
    else:
        _check_functional(ids, facts, coverage)
    payload = {
        "organization_id": command.organization_id, "mode": command.mode, "entity_ids": ids, "name": command.name,
        "level": command.level, "district_code": facts[ids[0]].district_code,
        "street_code": _common({facts[e].street_code for e in ids}), "formed_on": command.formed_on.isoformat(),
        "grouping_basis": command.grouping_basis if command.mode == "joint" else None,
        "grouping_detail": command.grouping_detail, "formal_members": counts, "affiliation": affiliation,
        "restructured_from": restructured_from}
    return [NewEvent("OrganizationFormed", payload, stream_id=command.organization_id)]


def unknown_entity(entity_id: str) -> ProjectedFactRefusal:
    return ProjectedFactRefusal(f"entity {entity_id} is not known to formation: registry.events holds no "
                                "EntityRegistered for it", field="entity_ids", rule="registry")


def _common(values: set):
    return values.pop() if len(values) == 1 else None


def _check_standalone(ids, counts, coverage, restructured_from) -> None:
    if len(ids) != 1:
        raise RuleViolation(f"R3: a standalone organization covers exactly one entity, not {len(ids)}",
                            field="entity_ids", rule="R3")
    entity_id = ids[0]
    if counts[entity_id] < MUST_STAND_ALONE:
        raise ProjectedFactRefusal(f"R3: entity {entity_id} has {counts[entity_id]} formal members; a standalone "
                            f"organization needs at least {MUST_STAND_ALONE} (form a joint organization, R4)",
                            field="entity_ids", rule="R3")
    held = coverage.get(entity_id, Coverage()).by_mode
    if held.get("standalone"):
        raise RuleViolation(f"R3: entity {entity_id} already has its own organization {held['standalone'][0]}",
                            field="entity_ids", rule="R3")
    if held.get("joint") and held["joint"][0] != restructured_from:
        raise RuleViolation(f"R3: entity {entity_id} is covered by joint organization {held['joint'][0]}; "
                            "split it out with POST /organizations/{id}/restructure", field="entity_ids", rule="R3")


def _check_joint(command: FormOrganization, ids, counts, coverage) -> None:
    if command.grouping_basis is None:
        raise RuleViolation("R4: a joint organization needs its grouping basis (region, industry, park, building, "
                            "market, association or leading_enterprise)", field="grouping_basis", rule="R4")
    if len(ids) < 2:
        raise RuleViolation("R4: a joint organization covers at least two entities", field="entity_ids", rule="R4")
    for entity_id in ids:
        if counts[entity_id] >= MUST_STAND_ALONE:
            raise ProjectedFactRefusal(f"R3: entity {entity_id} has {counts[entity_id]} formal members and must "
                                       "form its own organization", field="entity_ids", rule="R3")
        held = coverage.get(entity_id, Coverage())
        if held.primary() is not None:
            raise RuleViolation(f"R4: entity {entity_id} is already covered by organization {held.primary()}",
                                field="entity_ids", rule="R4")
    total = sum(counts.values())
    if total < JOINT_MINIMUM:
        raise ProjectedFactRefusal(f"R4: the entities together have {total} formal members; a joint organization needs "
                            f"at least {JOINT_MINIMUM}", field="entity_ids", rule="R4")


def _check_functional(ids, facts, coverage) -> None:
    """R5 (二(四)4): social organizations staffed mainly by 机关事业单位人员, as registry's survey records it."""
    for entity_id in ids:
        if facts[entity_id].kind != "social_organization":
            raise RuleViolation(f"R5: entity {entity_id} is a {facts[entity_id].kind}; functional organizations "
                                "are for social organizations", field="entity_ids", rule="R5")
        staffed = facts[entity_id].public_sector_staffed
        if staffed is not True:
            found = "is not staffed mainly by" if staffed is False else "has no survey record of being staffed by"
            raise ProjectedFactRefusal(f"R5: entity {entity_id} {found} 机关事业单位人员 (registry's survey fact "
                                       "public_sector_staffed); a functional organization is for such social "
                                       "organizations", field="entity_ids", rule="R5")
        if coverage.get(entity_id, Coverage()).by_mode.get("functional"):
            raise RuleViolation(f"R5: entity {entity_id} already has a functional organization", field="entity_ids",
                                rule="R5")


# -- restructuring (调整优化组织设置) -----------------------------------------------------------------
def decide_restructure(joint: Organization, entity_id: str, new_command: FormOrganization,
                       facts: Mapping[str, EntityFacts], coverage: Mapping[str, Coverage], affiliation: dict,
                       today: date, reason: str) -> list[NewEvent]:
    if not joint.active:
        raise RuleViolation(f"organization {joint.organization_id} was dissolved on {joint.dissolved_on}",
                            field="organization_id")
    if joint.mode != "joint":
        raise RuleViolation(f"R3: only a joint organization is restructured; {joint.organization_id} is "
                            f"{joint.mode}", field="organization_id", rule="R3")
    if entity_id not in joint.entity_ids:
        raise RuleViolation(f"entity {entity_id} is not covered by {joint.organization_id}", field="entity_id")
    remaining = [e for e in joint.entity_ids if e != entity_id]
    left = sum(facts[e].formal_members if e in facts else 0 for e in remaining)
    if remaining and left < JOINT_MINIMUM:
        raise ProjectedFactRefusal(f"R4: after the split the remaining entities of {joint.organization_id} have {left} "
                            f"formal members (< {JOINT_MINIMUM}); regroup them or dissolve the joint "
                            "organization first", field="entity_id", rule="R4")
    formed = decide_form(new_command, facts, coverage, affiliation, today, restructured_from=joint.organization_id)
    restructured = NewEvent("OrganizationRestructured", {
        "organization_id": joint.organization_id, "mode": joint.mode, "entity_ids": [entity_id],
        "new_organization_id": new_command.organization_id, "remaining_entity_ids": remaining,
        "restructured_on": new_command.formed_on.isoformat(), "reason": reason}, stream_id=joint.organization_id)
    return [restructured, *formed]


def r3_violations(facts: Sequence[EntityFacts], coverage: Mapping[str, Coverage]) -> list[dict]:
    """R3: entities with >= 3 formal members and no standalone organization: none at all, or only a joint
    (or functional) one. A survey-declared organization counts until formation records one (docs/rules.md)."""
    found = []
    for entity in sorted(facts, key=lambda f: f.entity_id):
        held = coverage.get(entity.entity_id, Coverage()).by_mode
        modes = {mode for mode, ids in held.items() if ids} | ({entity.declared_mode} if entity.declared_mode else set())
        if not r3_violation(entity.formal_members, modes):
            continue
        if held.get("joint"):
            now = f"now only in joint {held['joint'][0]}"
        elif modes:
            now = f"now only {'/'.join(sorted(modes))}"
        else:
            now = "no organization yet"
        found.append({"entity_id": entity.entity_id, "formal_members": entity.formal_members,
                      "member_source": entity.member_source,
                      "joint_organization_id": held["joint"][0] if held.get("joint") else None,
                      "organizations": {m: list(ids) for m, ids in held.items() if ids},
                      "declared_organization": entity.declared_mode,
                      "district_code": entity.district_code, "rule": "R3",
                      "message": f"R3: entity {entity.entity_id} has {entity.formal_members} formal members "
                                 f"and must form its own organization ({now})"})
    return found


# -- dissolving, affiliation ----------------------------------------------------------------------------
def decide_dissolve(org: Organization, dissolved_on: date, reason: str, tasks: Mapping[str, TaskStatus],
                    today: date) -> list[NewEvent]:
    if not org.active:
        raise RuleViolation(f"organization {org.organization_id} was already dissolved on {org.dissolved_on}",
                            field="organization_id")
    if dissolved_on > today or dissolved_on < org.formed_on:
        raise RuleViolation(f"dissolved_on {dissolved_on} must lie between the formation ({org.formed_on}) and "
                            "today", field="dissolved_on")
    events = [NewEvent("OrganizationDissolved", {
        "organization_id": org.organization_id, "mode": org.mode, "entity_ids": list(org.entity_ids),
        "dissolved_on": dissolved_on.isoformat(), "reason": reason}, stream_id=org.organization_id)]
    for entity_id in org.entity_ids:
        task = tasks.get(entity_id)
        if task is not None and task.organization_id == org.organization_id and task.state in ("checked", "closed"):
            events.append(_reopen(org, entity_id, "organization_dissolved", "open", None, [reason], dissolved_on))
    return events


def decide_affiliation(org: Organization, new: dict, derived: dict, reason: str, today: date) -> list[NewEvent]:
    if not org.active:
        raise RuleViolation(f"organization {org.organization_id} was dissolved", field="organization_id")
    if new == org.affiliation:
        raise RuleViolation("R8: the organization already has this affiliation", field="affiliation", rule="R8")
    return [NewEvent("AffiliationChanged", {
        "organization_id": org.organization_id, "mode": org.mode, "entity_ids": list(org.entity_ids),
        "previous": org.affiliation, "affiliation": new, "derived": new == derived, "reason": reason,
        "changed_on": today.isoformat()}, stream_id=org.organization_id)]


# -- R9 checks and closing --------------------------------------------------------------------------------
REOPEN_BY_KIND = {"acceptance": "acceptance_check_failed", "spot_check": "spot_check_failed",
                  "look_back": "look_back_failed"}


def decide_check(org: Organization, command: RecordCheck, facts: Mapping[str, EntityFacts],
                 tasks: Mapping[str, TaskStatus], today: date,
                 window: CheckWindow) -> tuple[list[NewEvent], dict[str, str]]:
    """The check event, then per entity OrganizationClosed (passed, in the baseline) or TaskReopened (failed).

    Returns the events and each entity's task state afterwards: a passed check of an entity not (yet)
    in the baseline leaves its task ``checked`` (closed later, POST /tasks/{id}/close). ``window`` is
    the check kind's window (R12), judged on ``today`` (the business date) and on ``checked_on``."""
    if not org.active:
        raise RuleViolation(f"organization {org.organization_id} was dissolved on {org.dissolved_on}; "
                            "nothing to check", field="organization_id", rule="R9")
    require_in_window(window, today, command.checked_on)
    if command.checked_on > today or command.checked_on < org.formed_on:
        raise RuleViolation(f"checked_on {command.checked_on} must lie between the formation ({org.formed_on}) "
                            "and today", field="checked_on", rule="R12")
    if not command.passed and not command.findings:
        raise RuleViolation("R12: a failed check names its findings", field="findings", rule="R12")
    events = [NewEvent("OrganizationChecked", {
        "organization_id": org.organization_id, "mode": org.mode, "entity_ids": list(org.entity_ids),
        "check_id": command.check_id, "check_kind": command.check_kind, "passed": command.passed,
        "findings": list(command.findings), "checked_on": command.checked_on.isoformat(),
        "inspector_unit": command.inspector_unit, "spot_check_id": command.spot_check_id},
        stream_id=org.organization_id)]
    states: dict[str, str] = {}
    for entity_id in org.entity_ids:
        if command.passed:
            if facts.get(entity_id) is not None and facts[entity_id].in_baseline:
                events.append(close_event(org, entity_id, command.check_id, command.checked_on))
                states[entity_id] = "closed"
            else:
                states[entity_id] = "checked"
        else:
            events.append(_reopen(org, entity_id, REOPEN_BY_KIND[command.check_kind], "organization_formed",
                                  command.check_id, list(command.findings), command.checked_on))
            states[entity_id] = "organization_formed"
    return events, states


def close_event(org: Organization, entity_id: str, check_id: str, closed_on: date) -> NewEvent:
    return NewEvent("OrganizationClosed", {
        "organization_id": org.organization_id, "mode": org.mode, "entity_ids": [entity_id],
        "entity_id": entity_id, "check_id": check_id, "closed_on": closed_on.isoformat()},
        stream_id=task_stream(entity_id))


def _reopen(org: Organization, entity_id: str, reason: str, state: str, check_id: str | None,
            findings: list[str], on: date) -> NewEvent:
    return NewEvent("TaskReopened", {
        "organization_id": org.organization_id, "mode": org.mode, "entity_ids": [entity_id],
        "entity_id": entity_id, "reason": reason, "state": state, "check_id": check_id, "findings": findings[:50],
        "reopened_on": on.isoformat()}, stream_id=task_stream(entity_id))


def reopen_for_restructure(joint: Organization, entity_id: str, task: TaskStatus | None, on: date,
                           reason: str) -> list[NewEvent]:
    """A closed task moved to a new, unchecked organization goes back to organization_formed (R9)."""
    if task is None or task.state not in ("checked", "closed"):
        return []
    return [_reopen(joint, entity_id, "restructured", "organization_formed", None, [reason], on)]
