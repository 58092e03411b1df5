"""R12 checks: who may check which entity's organization, and in which window (the plan's 二(七), 三(二)).

Acceptance checks (检查验收) 11-21..12-05: non-public enterprises (and rural entities, which the
plan puts under the district organization departments with them, 三(二)) by the district
organization department; social organizations 归口分级: a city-level one by the city organization
department together with its 归口 department (civil affairs for those without a supervising unit,
the city organs' working committee for those with one), a district-level one by its district.
The look-back (回头看) 12-06..12-30 follows the same 归口, and the city organization department
may look back at any organization (督查核实, 二(八)). Random spot checks (随机抽查) of non-public
enterprises are the city's, with 统战, 工商, 商务, 经信 and 工商联, inside the acceptance window
(二(七) names them together). The windows come from the campaign calendar; the day judged is
the campaign's business date.
"""

from dataclasses import dataclass
from datetime import date

from platform_core.errors import RuleViolation
from platform_core.reference import CampaignCalendar

from .model import EntityFacts

CHECK_KIND_ZH = {"acceptance": "检查验收", "spot_check": "随机抽查", "look_back": "回头看"}
# The calendar milestone whose window a check kind must fall in (二(七) holds both acceptance and spot checks).
WINDOW_MILESTONE = {"acceptance": "acceptance", "spot_check": "acceptance", "look_back": "look_back"}
ENTERPRISE_KINDS = ("non_public_enterprise", "rural_entity")
SPOT_CHECKED_KINDS = ("non_public_enterprise",)
SPOT_CHECK_DEPARTMENTS = ("city_org", "united_front", "market_regulation", "commerce", "economy_it",
                          "federation_commerce")
PERMISSION = {"acceptance": "check.acceptance", "look_back": "check.acceptance", "spot_check": "check.spot"}


@dataclass(frozen=True)
class CheckWindow:
    check_kind: str
    starts: date
    ends: date

    def contains(self, day: date) -> bool:
        return self.starts <= day <= self.ends

    def describe(self) -> str:
        return f"{CHECK_KIND_ZH[self.check_kind]} {self.starts.isoformat()}..{self.ends.isoformat()}"


def check_window(calendar: CampaignCalendar, check_kind: str) -> CheckWindow:
    milestone = calendar.milestone(WINDOW_MILESTONE[check_kind])
    return CheckWindow(check_kind, milestone.starts or milestone.due, milestone.due)


def require_in_window(window: CheckWindow, today: date, checked_on: date | None = None) -> None:
    """R12: outside its window a check (and a spot-check draw) is refused, naming the window."""
    if not window.contains(today):
        raise RuleViolation(f"R12: {window.describe()} only; the campaign's business date is {today.isoformat()}",
                            field="check_kind", rule="R12")
    if checked_on is not None and not window.contains(checked_on):
        raise RuleViolation(f"R12: checked_on {checked_on.isoformat()} lies outside {window.describe()}",
                            field="checked_on", rule="R12")


def responsible_for(entity: EntityFacts) -> tuple[str, ...]:
    """The department kinds that hold an entity's acceptance check (R12 归口分级)."""
    if entity.kind == "social_organization" and entity.level == "city":
        return ("city_org", "city_organs_committee" if entity.supervising_department else "civil_affairs")
    return ("district_org",)


def refusal(department_kind: str, entity: EntityFacts, check_kind: str) -> str | None:
    """Why a department may not check this entity's organization (None: it may). Territory is the
    caller's business (a district checks in its own district only)."""
    if check_kind == "spot_check":
        if department_kind not in SPOT_CHECK_DEPARTMENTS:
            return "随机抽查由市委组织部会同统战、工商、商务、经信、工商联进行（R12）"
        if entity.kind not in SPOT_CHECKED_KINDS:
            return f"随机抽查只针对非公有制企业；{entity.entity_id} 不是（R12）"
        return None
    allowed = responsible_for(entity)
    if check_kind == "look_back" and department_kind == "city_org":
        return None  # 督查核实 (二(八))
    if department_kind in allowed:
        return None
    return (f"{entity.entity_id} 的{CHECK_KIND_ZH[check_kind]}归口于{'、'.join(allowed)}"
            f"（{_what(entity)}，R12 归口分级）")


def _what(entity: EntityFacts) -> str:
    if entity.kind == "social_organization" and entity.level == "city":
        return "有业务主管单位的市级社会组织" if entity.supervising_department else "无业务主管单位的市级社会组织"
    if entity.kind == "social_organization":
        return "区级社会组织"
    return "非公有制企业" if entity.kind == "non_public_enterprise" else "农村新型经营主体"
