"""Setup milestones (docs/rules.md, R10b; the plan's 二(一), 二(二), 三(二)): decisions, pure.

A district records its work plan, its training and its task-force roster; for every park, development zone or
street where 两新 organizations gather (a gathering zone, declared first) a guidance station (党建工作指导站) and an
enterprise or combined Party committee (企业党委 / 综合党委). Each milestone is recorded once per district or zone,
with the day it was done and its document (文号 and/or title, optionally the file's SHA-256). Whether it was on
time is judged when read (``platform_core.rules.milestones``), never stored.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from platform_core.errors import AlreadyExists, NotFound, RuleViolation
from platform_core.events import NewEvent
from platform_core.reference import CampaignCalendar, Territory

RULE = "R10b"
COMMITTEE_MILESTONE = "party_committee"


@dataclass(frozen=True)
class Zone:
    zone_id: str
    district_code: str
    name: str


@dataclass(frozen=True)
class Document:
    """The milestone's document: its 文号 and/or title; optionally the SHA-256 of its file."""

    number: str | None = None
    title: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class RecordMilestone:
    milestone: str
    district_code: str
    zone_id: str | None
    done_on: date
    document: Document
    committee_kind: str | None = None


def milestone_stream(command: RecordMilestone) -> str:
    """One stream per milestone and scope: a second record of it is a conflict, not a second row."""
    owner = command.zone_id.removeprefix("zone-") if command.zone_id else command.district_code
    return f"milestone-{owner}-{command.milestone}"


def require_district(territory: Territory, district_code: str) -> None:
    if territory.district(district_code) is None:
        raise RuleViolation(f"{RULE}：{district_code} 不是本市的区或功能区", field="district_code", rule=RULE)


def decide_declare_zone(territory: Territory, district_code: str, street_code: str | None, name: str,
                        zone_kind: str, declared_on: date, taken: bool, today: date) -> NewEvent:
    """GatheringZoneDeclared: a zone of the district whose 两新 organizations gather (三(二)); its name is unique in
    the district (``taken``: the district has a zone of that name)."""
    require_district(territory, district_code)
    if street_code is not None:
        street = territory.street(street_code)
        if street is None or street.district_code != district_code:
            raise RuleViolation(f"{RULE}：街道 {street_code} 不在 {district_code} 区内", field="street_code", rule=RULE)
    elif zone_kind == "street":
        raise RuleViolation(f"{RULE}：两新组织集中的街道须给出街道代码", field="street_code", rule=RULE)
    if declared_on > today:
        raise RuleViolation(f"{RULE}：确定日期 {declared_on} 晚于今天（{today}）", field="declared_on", rule=RULE)
    if taken:
        raise AlreadyExists(f"{RULE}：{district_code} 区已有名为“{name}”的园区（街道）", field="name", rule=RULE)
    zone_id = f"zone-{uuid.uuid4()}"
    return NewEvent("GatheringZoneDeclared", {"zone_id": zone_id, "district_code": district_code,
                                              "street_code": street_code, "name": name, "zone_kind": zone_kind,
                                              "declared_on": declared_on.isoformat()}, stream_id=zone_id)


def decide_record(calendar: CampaignCalendar, command: RecordMilestone, zone: Zone | None, recorded: bool,
                  today: date) -> NewEvent:
    """SetupMilestoneRecorded, once per milestone and scope (``recorded``: it was recorded already)."""
    known = {m.key: m for m in calendar.setup_milestones}
    setup = known.get(command.milestone)
    if setup is None:
        raise RuleViolation(f"{RULE}：没有名为 {command.milestone} 的启动节点（可选：{'、'.join(known)}）",
                            field="milestone", rule=RULE)
    if setup.scope == "district" and command.zone_id is not None:
        raise RuleViolation(f"{RULE}：{setup.name}按区记录，不填园区（街道）", field="zone_id", rule=RULE)
    if setup.scope == "zone":
        if command.zone_id is None:
            raise RuleViolation(f"{RULE}：{setup.name}按园区（街道）记录，须填 zone_id", field="zone_id", rule=RULE)
        if zone is None:
            raise NotFound(f"zone {command.zone_id} not found", field="zone_id")
        if zone.district_code != command.district_code:
            raise RuleViolation(f"{RULE}：园区（街道）“{zone.name}”不在 {command.district_code} 区", field="zone_id",
                                rule=RULE)
    if (command.committee_kind is not None) != (command.milestone == COMMITTEE_MILESTONE):
        raise RuleViolation(f"{RULE}：党委类型（企业党委 / 综合党委）只填于且必填于“{known[COMMITTEE_MILESTONE].name}”"
                            if COMMITTEE_MILESTONE in known else f"{RULE}：本次行动不记录党委类型",
                            field="committee_kind", rule=RULE)
    if not (command.document.number or command.document.title):
        raise RuleViolation(f"{RULE}：须给出文件的文号或标题", field="document_number", rule=RULE)
    if command.done_on > today:
        raise RuleViolation(f"{RULE}：完成日期 {command.done_on} 晚于今天（{today}）", field="done_on", rule=RULE)
    if setup.scope == "district" and command.done_on.year < calendar.starts.year:
        raise RuleViolation(f"{RULE}：{setup.name}是本次行动的，完成日期 {command.done_on} 早于行动当年",
                            field="done_on", rule=RULE)
    if recorded:
        where = f"园区（街道）“{zone.name}”" if zone else f"{command.district_code} 区"
        raise AlreadyExists(f"{RULE}：{where}的“{setup.name}”已记录", field="milestone", rule=RULE)
    return NewEvent("SetupMilestoneRecorded", {
        "milestone": command.milestone, "district_code": command.district_code, "zone_id": command.zone_id,
        "zone_name": zone.name if zone else None, "done_on": command.done_on.isoformat(),
        "document_number": command.document.number, "document_title": command.document.title,
        "document_sha256": command.document.sha256, "committee_kind": command.committee_kind,
        "recorded_on": today.isoformat()}, stream_id=milestone_stream(command))
