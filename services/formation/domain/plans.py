"""一企一策 / 一社一策 plans (docs/rules.md, R9; the plan's 二(三)): decisions over a plan, pure.

Every entity without a Party organization gets a plan: measures, a target date inside the campaign
calendar, a responsible person (name and role; the name stays in formation's own table, events carry a
pseudonym) and progress notes appended over time. A plan is never closed by an event: it is fulfilled while
the entity is organization-covered and applies again if that organization is dissolved
(``platform_core.rules.plans.plan_overdue``).
"""

import unicodedata
from dataclasses import dataclass
from datetime import date

from platform_core.errors import AlreadyExists, RuleViolation
from platform_core.events import NewEvent
from platform_core.reference import CampaignCalendar
from platform_core.rules.plans import plan_label

from .model import EntityFacts

# Characters no plan text holds: controls, invisible formatting, private-use, surrogates, unassigned.
UNPRINTABLE = {"Cc": "控制字符", "Cf": "不可见的格式字符", "Co": "私人使用区字符", "Cs": "代理字符", "Cn": "未分配的字符"}


def unprintable(text: str, *, newlines: bool = False) -> str | None:
    """Why ``text`` cannot be stored as plan text (its first such character), or None; ``newlines``: a line
    break is allowed (progress notes)."""
    for position, char in enumerate(text, start=1):
        if newlines and char == "\n":
            continue
        category = unicodedata.category(char)
        if category in UNPRINTABLE:
            return f"第{position}个字符 U+{ord(char):04X} 是{UNPRINTABLE[category]}，不能有"
    return None


def plan_stream(entity_id: str) -> str:
    """One plan per entity, on the stream ``plan-<entity uuid>`` (its id)."""
    return "plan-" + entity_id.removeprefix("entity-")


@dataclass(frozen=True)
class PlanContent:
    measures: tuple[str, ...]
    target_date: date
    responsible_id: str
    responsible_role: str


@dataclass(frozen=True)
class Plan:
    plan_id: str
    entity_id: str
    content: PlanContent
    revision: int
    created_on: date


def require_target_in_calendar(calendar: CampaignCalendar, target_date: date, today: date) -> None:
    """R10: the target date lies inside the campaign calendar and not before the business date (a plan set
    overdue on the day it is written plans nothing)."""
    if not calendar.starts <= target_date <= calendar.ends:
        raise RuleViolation(f"R10：目标日期 {target_date} 不在本次集中行动期间（{calendar.starts} 至 {calendar.ends}）内",
                            field="target_date", rule="R10")
    if target_date < today:
        raise RuleViolation(f"R10：目标日期 {target_date} 早于今天（{today}）", field="target_date", rule="R10")


def _scope(plan_id: str, facts: EntityFacts, ledger_unit: str | None) -> dict:
    return {"plan_id": plan_id, "entity_id": facts.entity_id, "entity_kind": facts.kind,
            "district_code": facts.district_code, "street_code": facts.street_code, "ledger_unit": ledger_unit}


def _content(content: PlanContent, kind: str) -> dict:
    return {"label": plan_label(kind), "measures": list(content.measures),
            "target_date": content.target_date.isoformat(), "responsible_id": content.responsible_id,
            "responsible_role": content.responsible_role}


def decide_create(facts: EntityFacts, ledger_unit: str | None, organization_covered: bool, existing: Plan | None,
                  content: PlanContent, calendar: CampaignCalendar, today: date) -> NewEvent:
    """PlanCreated for an entity without an organization that has no plan yet (R9)."""
    if existing is not None:
        raise AlreadyExists(f"R9：{facts.name or facts.entity_id} 已有{plan_label(facts.kind)}（{existing.plan_id}），"
                            "请修订该方案", field="entity_id", rule="R9")
    if organization_covered:
        raise RuleViolation(f"R9：{facts.name or facts.entity_id} 已有党组织，{plan_label(facts.kind)}只为尚未建立党组织的"
                            "单位制定", field="entity_id", rule="R9")
    require_target_in_calendar(calendar, content.target_date, today)
    plan_id = plan_stream(facts.entity_id)
    return NewEvent("PlanCreated", _scope(plan_id, facts, ledger_unit) | _content(content, facts.kind)
                    | {"created_on": today.isoformat()}, stream_id=plan_id)


def decide_revise(plan: Plan, facts: EntityFacts, ledger_unit: str | None, content: PlanContent, reason: str,
                  calendar: CampaignCalendar, today: date) -> NewEvent:
    """PlanRevised: the whole plan as revised; a target date moved must still lie ahead (R10)."""
    if content.target_date != plan.content.target_date:
        require_target_in_calendar(calendar, content.target_date, today)
    if content == plan.content:
        raise RuleViolation("修订后的方案与现行方案相同", field="measures", rule="R9")
    return NewEvent("PlanRevised", _scope(plan.plan_id, facts, ledger_unit) | _content(content, facts.kind)
                    | {"revision": plan.revision + 1, "reason": reason, "revised_on": today.isoformat()},
                    stream_id=plan.plan_id)


def decide_note(plan: Plan, facts: EntityFacts, ledger_unit: str | None, note: str, noted_on: date,
                today: date) -> NewEvent:
    """PlanProgressNoted: a progress note, dated between the plan's creation and today."""
    if noted_on > today:
        raise RuleViolation(f"进展日期 {noted_on} 晚于今天（{today}）", field="noted_on", rule="R9")
    if noted_on < plan.created_on:
        raise RuleViolation(f"进展日期 {noted_on} 早于方案制定日期（{plan.created_on}）", field="noted_on", rule="R9")
    return NewEvent("PlanProgressNoted", _scope(plan.plan_id, facts, ledger_unit)
                    | {"note": note, "noted_on": noted_on.isoformat()}, stream_id=plan.plan_id)
