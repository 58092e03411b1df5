"""What the dashboard shows instead of internal identifiers: Chinese names of event types, check kinds,
figures and units, district and street names from the territory reference, and Beijing time.

Pure lookups (no I/O beyond the cached reference data). Codes and ids stay in links and attributes;
visible text uses these names (docs/dashboard.md, "Names, not identifiers").
"""

import re
from datetime import datetime, timezone

from platform_core.reference import load_calendar, load_territory
from reporting.domain.reports import CITY_TIME
from reporting.handlers.bulletin_figures import unit_name

UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
EVENT_TYPES_ZH = {
    "AccountabilityRecorded": "问责确认", "SignalMarked": "疑点核实", "AffiliationChanged": "隶属关系调整", "BulletinPublished": "通报发布",
    "CheckpointSigned": "检查点签名", "EntityFlagCleared": "取消标记", "EntityFlagged": "标记（空壳/僵尸/影子）",
    "EntityPersonalDataErased": "单位个人信息删除", "EntityProfileUpdated": "单位信息更新", "EntityRegistered": "单位登记",
    "FunctionalMembershipAdded": "纳入功能型党组织", "FunctionalMembershipRemoved": "移出功能型党组织",
    "InstructorAssigned": "选派党建工作指导员", "InstructorAssignmentEnded": "党建工作指导员撤回",
    "InvestorEducationHeld": "出资人教育", "JointMemberDevelopmentStarted": "启动联合发展党员",
    "LedgerApproved": "台帐审核通过", "LedgerReturned": "台帐退回", "LedgerSubmitted": "台帐报送",
    "MassOrganizationFormed": "群团组织建立", "MemberConfirmed": "党员身份核实", "MemberDeveloped": "发展党员",
    "MemberLeft": "党员离开", "MemberPersonalDataErased": "党员个人信息删除", "MemberRecruited": "党员入职",
    "MemberRegistered": "党员登记", "MemberReleaseWithdrawn": "撤回党员转出", "MemberReleased": "党员转出",
    "MemberRevealed": "党员亮明身份", "MemberTransferred": "党员组织关系转接", "MemberWorkplaceChanged": "党员工作单位变更",
    "OrganizationChecked": "检查验收", "OrganizationClosed": "销号", "OrganizationDissolved": "党组织撤销",
    "OrganizationFormed": "党组织组建", "OrganizationRestructured": "党组织调整", "PersonalDataAccessed": "个人信息查阅",
    "GatheringZoneDeclared": "确定两新组织集中的园区（街道）", "SetupMilestoneRecorded": "记录启动节点",
    "PlanCreated": "制定一企一策（一社一策）", "PlanProgressNoted": "一企一策（一社一策）进展", "PlanRevised": "修订一企一策（一社一策）",
    "ReportSubmitted": "半月报送", "ResponsibilityReportSubmitted": "责任报告报送", "SpotCheckDrawn": "随机抽查抽取",
    "TaskReopened": "任务重新打开", "VerificationListImported": "核实名单导入",
}

# The registry's flag names (registry/domain/vocabulary.py): reporting may not import another service.
FLAGS_ZH = {"shell": "空壳企业", "zombie": "僵尸企业", "shadow": "影子企业"}


def flag(code: str) -> str:
    return FLAGS_ZH.get(code, code)


def event_type(name: str | None) -> str:
    return EVENT_TYPES_ZH.get(name or "", name or "")


def district(code: str | None) -> str:
    found = load_territory().district(code or "")
    return found.name if found else (code or "")


def street(code: str | None) -> str:
    """The street's name; a code the territory lacks (an older division) shows as the code, marked so."""
    found = load_territory().street(code or "")
    return found.name if found else f"{code or ''}（区划表中无此街道）"


def unit(code: str | None) -> str:
    """A responsible or reporting unit (``district-420102``, ``civil-affairs``, ...) by its Chinese name."""
    return unit_name(code or "")


def city_time(moment: datetime | str | None) -> str:
    """Beijing time (UTC+8), minutes: for datetimes and ISO strings (``…Z`` or with an offset)."""
    if not moment:
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # the platform stores UTC
    return moment.astimezone(CITY_TIME).strftime("%Y-%m-%d %H:%M")


def accountability_subject(subject: str) -> str:
    """An accountability entry's subject as shown: a milestone's name (with the ledger unit for the survey),
    a report deadline as it is; a check's id is left to the link's attribute (the finding names the check)."""
    key, _, ledger = subject.partition(":")
    if key == "setup":  # setup:<milestone>[:<zone id>]: the finding names the zone (docs/milestones.md)
        milestone, _, zone = ledger.partition(":")
        setup = {m.key: m.name for m in load_calendar().setup_milestones}
        return setup.get(milestone, milestone) + ("（园区、街道）" if zone else "")
    milestones = {m.key: m.name for m in load_calendar().milestones}
    if key in milestones:
        return milestones[key] + (f"（{unit(ledger)}）" if ledger else "")
    if UUID_PATTERN.search(subject):  # a check (check-<uuid>): the finding names its kind
        return "检查"
    return subject
