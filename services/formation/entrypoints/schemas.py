"""API request/response shapes (separate from the domain records and the event contract)."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from platform_core.api_types import IsoDate
from platform_core.contracts.formation import (DOCUMENT_NUMBER_MAX, DOCUMENT_TITLE_MAX, ENTITY_ID, MEASURE_MAX,
                                               MEASURES_MAX, MILESTONE_KEY, NOTE_MAX, ORGANIZATION_ID, REASON_MAX,
                                               ROLE_MAX, SPOT_CHECK_ID, ZONE_ID, ZONE_NAME_MAX)

from ..domain.plans import unprintable

EntityIdField = Field(pattern=ENTITY_ID)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FormIn(_In):
    mode: Literal["standalone", "joint", "functional"]
    name: str = Field(min_length=1, max_length=200, description="党组织名称")
    entity_ids: list[str] = Field(min_length=1, max_length=500)
    formed_on: IsoDate
    level: Literal["branch", "general_branch", "committee"] = "branch"
    grouping_basis: Literal["region", "industry", "park", "building", "market", "association",
                            "leading_enterprise"] | None = None
    grouping_detail: str | None = Field(default=None, max_length=200)


class RestructureIn(_In):
    entity_id: str = EntityIdField
    name: str = Field(min_length=1, max_length=200, description="新单独组建党组织的名称")
    reason: str = Field(default="R3: 符合单独组建条件，调整优化组织设置", min_length=1, max_length=500)
    restructured_on: IsoDate | None = None


class DissolveIn(_In):
    reason: str = Field(min_length=1, max_length=500)
    dissolved_on: IsoDate | None = None


class AffiliationIn(_In):
    kind: Literal["territorial", "supervising_department", "civil_affairs"]
    unit: str = Field(min_length=1, max_length=80)
    name: str | None = Field(default=None, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class CheckIn(_In):
    passed: bool
    findings: list[str] = Field(default_factory=list, max_length=50)
    checked_on: IsoDate
    check_kind: Literal["acceptance", "look_back"] = "acceptance"


class SpotCheckResultIn(_In):
    organization_id: str = Field(pattern=ORGANIZATION_ID)
    passed: bool
    findings: list[str] = Field(default_factory=list, max_length=50)
    checked_on: IsoDate


class InstructorIn(_In):
    name: str = Field(min_length=1, max_length=50, description="指导员姓名（不进入事件）")
    role: Literal["instructor", "first_secretary"]
    entity_ids: list[str] = Field(default_factory=list, max_length=500,
                                  description="entities without an organization it work-covers (R6)")
    organization_ids: list[Annotated[str, Field(pattern=ORGANIZATION_ID)]] = Field(
        default_factory=list, max_length=100, description="new organizations it guides (一对一/一对多, R6)")
    assigned_on: IsoDate


class AssignmentEndIn(_In):
    reason: str = Field(min_length=1, max_length=500, description="调离、任期届满等")
    ended_on: IsoDate | None = None


class InvestorEducationIn(_In):
    entity_ids: list[str] = Field(min_length=1, max_length=500)
    held_on: IsoDate
    topic: str = Field(min_length=1, max_length=200, description="教育引导的内容或形式（座谈、培训）")


class JointDevelopmentIn(_In):
    entity_ids: list[str] = Field(min_length=1, max_length=500)
    started_on: IsoDate
    organization_id: str | None = Field(default=None, pattern=ORGANIZATION_ID,
                                        description="the developing organization, if formed in the campaign")
    organization_name: str | None = Field(default=None, min_length=1, max_length=200,
                                          description="the developing organization's name otherwise (e.g. 街道综合党委)")


class MassOrganizationIn(_In):
    entity_id: str = EntityIdField
    kind: Literal["trade_union", "youth_league", "womens_federation"]
    name: str = Field(min_length=1, max_length=200)
    formed_on: IsoDate


class SpotCheckIn(_In):
    per_district: int = Field(ge=1, le=1000)
    districts: list[str] | None = Field(default=None, description="6-digit codes; all districts when omitted")
    seed: str | None = Field(default=None, min_length=8, max_length=200,
                             description="only before any audit checkpoint is known: the value fixed in advance")


class EventRef(BaseModel):
    event_id: str
    type: str
    stream_id: str


class CommandResult(BaseModel):
    id: str
    events: list[EventRef]


SpotCheckId = Field(pattern=SPOT_CHECK_ID)


# -- 一企一策 / 一社一策 plans (R9) ---------------------------------------------------------------------------
def _plain(newlines: bool):
    def check(text: str) -> str:
        if not text.strip():
            raise ValueError("不能只有空白")
        if (reason := unprintable(text, newlines=newlines)) is not None:
            raise ValueError(reason)
        return text
    return AfterValidator(check)


def _person_name(text: str) -> str:
    if re.search(r"\d", text):
        raise ValueError("姓名中不能有数字（不收集身份证号等证件号码）")
    return text


Line = Annotated[str, Field(min_length=1, max_length=MEASURE_MAX), _plain(False)]
Measures = Annotated[list[Line], Field(min_length=1, max_length=MEASURES_MAX, description="工作措施，每条一项")]
Reason = Annotated[str, Field(min_length=1, max_length=REASON_MAX), _plain(True)]


class ResponsibleIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=50, description="责任人姓名（不进入事件）"), _plain(False),
                    AfterValidator(_person_name)]
    role: Annotated[str, Field(min_length=1, max_length=ROLE_MAX, description="职务，如 街道党工委副书记"), _plain(False)]


class PlanIn(_In):
    entity_id: str = EntityIdField
    measures: Measures
    target_date: IsoDate = Field(description="inside the campaign calendar, not before today (R10)")
    responsible: ResponsibleIn


class PlanReviseIn(_In):
    reason: Reason
    measures: Measures | None = None
    target_date: IsoDate | None = None
    responsible: ResponsibleIn | None = None


class PlanNoteIn(_In):
    note: Annotated[str, Field(min_length=1, max_length=NOTE_MAX, description="工作进展"), _plain(True)]
    noted_on: IsoDate | None = None


class ZoneIn(_In):
    district_code: str = Field(pattern=r"^\d{6}$", description="区（功能区）代码")
    name: Annotated[str, Field(min_length=1, max_length=ZONE_NAME_MAX, description="园区、开发区或街道的名称"),
                    _plain(False)]
    zone_kind: Literal["development_zone", "park", "street"] = Field(
        description="development_zone 开发区 / park 园区 / street 两新组织集中的街道")
    street_code: str | None = Field(default=None, pattern=r"^\d{9}$", description="街道代码（zone_kind=street 时必填）")
    declared_on: IsoDate | None = Field(default=None, description="default: the business date")


class MilestoneIn(_In):
    milestone: str = Field(pattern=MILESTONE_KEY, description="work_plan, training, task_force (per district); "
                                                               "guidance_station, party_committee (per zone)")
    district_code: str = Field(pattern=r"^\d{6}$")
    zone_id: str | None = Field(default=None, pattern=ZONE_ID, description="the zone, for a zone's milestone")
    done_on: IsoDate = Field(description="完成日期（文件日期）, not after today")
    document_number: Annotated[str, Field(min_length=1, max_length=DOCUMENT_NUMBER_MAX, description="文号"),
                               _plain(False)] | None = None
    document_title: Annotated[str, Field(min_length=1, max_length=DOCUMENT_TITLE_MAX, description="文件标题"),
                              _plain(False)] | None = None
    document_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$", description="文件的 SHA-256")
    committee_kind: Literal["enterprise", "combined"] | None = Field(
        default=None, description="party_committee: enterprise 企业党委 / combined 综合党委")
