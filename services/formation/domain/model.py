"""Formation's domain records: what an entity looks like to formation, organizations, commands.

Pure: no database, HTTP or Kafka. Commands are validated by the entrypoints'
schemas for shape; the rules (R3-R5, R8, R9) are checked in ``rules``.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from platform_core.errors import RuleViolation
from platform_core.rules.requirements import organization_required

MODE_ZH = {"standalone": "单独组建", "joint": "联合组建", "functional": "功能型"}
STATE_ZH = {"open": "未组建", "declared": "摸底申报已建，待组建记录核实", "organization_formed": "已组建待验收",
            "checked": "已验收待销号", "closed": "已销号"}
ORGANIZATION_MODES = ("standalone", "joint", "functional")
BASIS_ZH = {"region": "区域", "industry": "行业", "park": "园区", "building": "楼宇", "market": "市场",
            "association": "协会", "leading_enterprise": "龙头企业"}


class ProjectedFactRefusal(RuleViolation):
    """A refusal resting on facts formation learns from other services' events: member counts
    (membership.events), registrations and survey facts (registry.events). It is final only once formation's
    projection has seen what those topics held when it was made; the handler checks (projection lag)."""


@dataclass(frozen=True)
class EntityFacts:
    """An entity as formation's projection knows it.

    ``formal_members`` is the figure R2-R4 use: the membership-derived count once
    the entity has member events (``member_source == "membership"``), else the
    survey's declared figure (``"survey"``). ``declared_organization`` is the survey's
    党组织情况; it counts as coverage until formation records an organization for the
    entity (``organization_recorded``).
    """

    entity_id: str
    kind: str
    subtype: str = "other"
    level: str | None = None
    supervising_department: str | None = None
    district_code: str = ""
    street_code: str | None = None
    industry: str = "other"
    formal_members: int = 0
    member_source: str = "survey"
    in_baseline: bool = False
    name: str = ""
    employees: int = 0
    above_scale: bool = False
    declared_organization: str = "none"
    organization_recorded: bool = False

    @property
    def declared_mode(self) -> str | None:
        """The survey's declared organization mode while formation has recorded none, else None."""
        if self.organization_recorded or self.declared_organization not in ORGANIZATION_MODES:
            return None
        return self.declared_organization

    @property
    def required_reason(self) -> str | None:
        """R2 with the effective formal-member count (docs/rules.md)."""
        return organization_required({
            "kind": self.kind, "subtype": self.subtype, "level": self.level, "industry": self.industry,
            "employees": self.employees, "above_scale": self.above_scale, "formal_members": self.formal_members})
    public_sector_staffed: bool | None = None  # R5: staffed mainly by 机关事业单位人员 (None: not surveyed)


@dataclass(frozen=True)
class Organization:
    organization_id: str
    name: str
    mode: str
    district_code: str
    street_code: str | None
    entity_ids: tuple[str, ...]
    affiliation: dict[str, Any]
    formed_on: date
    dissolved_on: date | None = None
    version: int = 0

    @property
    def active(self) -> bool:
        return self.dissolved_on is None


@dataclass(frozen=True)
class FormOrganization:
    organization_id: str
    mode: str
    name: str
    entity_ids: tuple[str, ...]
    formed_on: date
    level: str = "branch"
    grouping_basis: str | None = None
    grouping_detail: str | None = None


@dataclass(frozen=True)
class RecordCheck:
    check_id: str
    organization_id: str
    passed: bool
    findings: tuple[str, ...]
    checked_on: date
    inspector_unit: str
    check_kind: str = "acceptance"
    spot_check_id: str | None = None


@dataclass(frozen=True)
class TaskStatus:
    """A campaign-board task's persisted part (the rest is derived from coverage)."""

    entity_id: str
    state: str = "open"
    organization_id: str | None = None
    check_id: str | None = None
    version: int = 0
    reopened: int = 0


def task_stream(entity_id: str) -> str:
    return "task-" + entity_id.removeprefix("entity-")


def workcoverage_stream(entity_id: str) -> str:
    return "workcoverage-" + entity_id.removeprefix("entity-")


def evolve_organization(org: Organization | None, event_type: str, payload: dict, version: int) -> Organization:
    """Fold one event of an ``organization-<uuid>`` stream."""
    if event_type == "OrganizationFormed":
        return Organization(payload["organization_id"], payload["name"], payload["mode"], payload["district_code"],
                            payload.get("street_code"), tuple(payload["entity_ids"]), dict(payload["affiliation"]),
                            _day(payload["formed_on"]), version=version)
    if org is None:
        raise ValueError(f"{event_type} before OrganizationFormed")
    if event_type == "OrganizationRestructured":
        return replace(org, entity_ids=tuple(payload["remaining_entity_ids"]), version=version)
    if event_type == "OrganizationDissolved":
        return replace(org, dissolved_on=_day(payload["dissolved_on"]), version=version)
    if event_type == "AffiliationChanged":
        return replace(org, affiliation=dict(payload["affiliation"]), version=version)
    return replace(org, version=version)


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass(frozen=True)
class Coverage:
    """Which active organizations cover an entity, by mode."""

    by_mode: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def any_organization(self) -> bool:
        """Organization-covered (R7): by any organization, functional included (the plan's 二(四)4)."""
        return any(self.by_mode.values())

    def primary(self) -> str | None:
        """The standalone or joint organization covering the entity, if any."""
        for mode in ("standalone", "joint"):
            if self.by_mode.get(mode):
                return self.by_mode[mode][0]
        return None
