"""Who may write what in the registry (docs/rules.md, "Departments and what each may do").

Each check raises Forbidden with the reason; the HTTP layer records every refusal.
"""

from collections.abc import Mapping
from typing import Any

from platform_core.auth import Forbidden, Principal

from .ledger import LedgerUnit

TERRITORIAL = ("district_org", "street_office")


def _refuse(principal: Principal, permission: str, target: str | None, reason: str) -> Forbidden:
    return Forbidden(f"{principal.department} 无权{reason}", principal=principal, permission=permission, target=target)


def require_register(principal: Principal, facts: Mapping[str, Any], target: str | None = None) -> None:
    """Territorial departments register in their territory; social organizations are civil affairs' (and
    districts' for district-level ones); civil affairs registers social organizations only."""
    permission = "entity.register"
    principal.require(permission, territory=facts["street_code"] if principal.kind in TERRITORIAL else None,
                      target=target)
    kind, level = facts["kind"], facts.get("level")
    if principal.kind == "civil_affairs" and kind != "social_organization":
        raise _refuse(principal, permission, target, "登记社会组织以外的两新组织（民政部门只登记社会组织）")
    if principal.kind == "street_office" and kind == "social_organization":
        raise _refuse(principal, permission, target, "登记社会组织（由区委组织部或民政部门登记）")
    if principal.kind == "district_org" and kind == "social_organization" and level == "city":
        raise _refuse(principal, permission, target, "登记市级社会组织（由市民政局或业务主管单位负责）")


def require_import(principal: Principal, form: str) -> None:
    """Before a survey form's file is read: the department registers at all, and the form's kind of
    organization (附表1 enterprises, 附表2 social organizations) is one it may register somewhere."""
    permission = "entity.register"
    principal.require(permission, target=form)
    if principal.kind == "civil_affairs" and form == "form1":
        raise _refuse(principal, permission, form, "导入附表1（民政部门只登记社会组织）")
    if principal.kind == "street_office" and form == "form2":
        raise _refuse(principal, permission, form, "导入附表2（社会组织由区委组织部或民政部门登记）")


def require_survey(principal: Principal, facts: Mapping[str, Any], target: str | None) -> None:
    """Profile updates: the territory's departments, and the city organs' committee for supervised
    city-level social organizations."""
    permission = "entity.survey"
    city_level_social = facts.get("kind") == "social_organization" and facts.get("level") == "city"
    if principal.kind == "city_organs_committee":
        principal.require(permission, target=target)
        if not (city_level_social and facts.get("supervising_department")):
            raise _refuse(principal, permission, target, "更新有业务主管单位的市级社会组织以外的资料")
        return
    principal.require(permission, territory=facts["street_code"] if principal.kind in TERRITORIAL else None,
                      target=target)
    if principal.kind in TERRITORIAL and city_level_social:
        raise _refuse(principal, permission, target, "更新市级社会组织的资料")


def may_read_persons(principal: Principal, facts: Mapping[str, Any]) -> bool:
    """Who sees an entity's persons in clear: the departments that may register it or survey it (the ones
    that give and correct those facts), and organization departments with ``read.personal`` whose territory
    covers it. Everyone else sees only the sealed record's reference and hashes."""
    for check in (require_survey, require_register):
        try:
            check(principal, facts, target=None)
            return True
        except Forbidden:
            continue
    return principal.may("read.personal") and principal.covers(facts.get("street_code"))


def require_flag(principal: Principal, facts: Mapping[str, Any], target: str) -> None:
    """三(二): market regulation verifies enterprise counts and flags shells, zombies and shadows."""
    principal.require("entity.flag", territory=facts.get("street_code"), target=target)


def require_ledger_submit(principal: Principal, unit: LedgerUnit) -> None:
    permission, target = "ledger.submit", f"ledger-{unit.code}"
    if unit.kind == "street":
        if principal.kind not in TERRITORIAL:
            raise _refuse(principal, permission, target, f"报送{unit.name}（由街道或区委组织部报送）")
        principal.require(permission, territory=unit.street_code, target=target)
    elif unit.kind in ("district_enterprise", "district_social"):
        if principal.kind != "district_org":
            raise _refuse(principal, permission, target, f"报送{unit.name}（由区委组织部报送）")
        principal.require(permission, territory=unit.district_code, target=target)
    elif unit.kind == "civil_affairs":
        if principal.kind != "civil_affairs":
            raise _refuse(principal, permission, target, f"报送{unit.name}（由市民政局报送）")
        principal.require(permission, target=target)
    elif unit.kind == "supervisor":
        if principal.kind not in ("city_organs_committee", unit.supervisor):
            raise _refuse(principal, permission, target, f"报送{unit.name}（由该业务主管单位或市直机关工委报送）")
        principal.require(permission, target=target)
    else:
        if principal.kind != "city_organs_committee":
            raise _refuse(principal, permission, target, f"报送{unit.name}（由市直机关工委汇总报送）")
        principal.require(permission, target=target)


def require_ledger_export(principal: Principal, unit: LedgerUnit) -> None:
    """Who may download a unit's ledger as its form (附表1/附表2): the departments that submit that ledger (a
    department sees only its own ledger units), and those that read everything (``read.all``: the city
    organization department, inspectors)."""
    if principal.may("read.all"):
        return
    try:
        require_ledger_submit(principal, unit)
    except Forbidden as refusal:
        raise _refuse(principal, "ledger.export", f"ledger-{unit.code}",
                      f"导出{unit.name}：只能导出本部门报送的台帐（{refusal.message}）") from None


def require_ledger_review(principal: Principal, unit: LedgerUnit, permission: str) -> None:
    """Only the city task force (市级工作专班, in the city organization department) reviews ledgers."""
    principal.require(permission, target=f"ledger-{unit.code}")
