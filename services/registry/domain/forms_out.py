"""附表1/附表2 written out: a ledger unit's current facts, or a blank template, in exactly the layout the
import reads (``forms.FORMS``: each column under its template header, each value as the word the import
maps back to the same code). Pure: the adapter (``adapters.spreadsheet``) turns these rows into cells.

A ledger unit's kind decides its form: street and district enterprise ledgers are 附表1 (enterprises and
rural entities), the social-organization ledgers 附表2.
"""

import re
from collections.abc import Mapping
from typing import Any

from platform_core.errors import RuleViolation

from .facts import Vocabulary
from .forms import FORM_NAMES, FORMS, Column
from .ledger import LedgerUnit
from .vocabulary import KINDS, LEVELS, OPERATION_STATUSES, PARTY_ORGANIZATIONS, SUBTYPES

SERIAL = "序号"  # the first column: ignored by the import (forms.IGNORED_HEADERS)
FORM_OF_UNIT = {"street": "form1", "district_enterprise": "form1", "district_social": "form2",
                "civil_affairs": "form2", "supervisor": "form2", "city_organs": "form2"}
# The template's column order: as the paper form reads, identity first, then the six facts (二(三) 六个清楚).
ORDER = {
    "form1": ("name", "uscc", "kind", "subtype", "district_code", "street_code", "address", "industry", "employees",
              "above_scale", "operation_status", "person_in_charge", "person_in_charge_is_member",
              "legal_representative", "formal_members", "probationary_members", "party_organization",
              "no_organization_reason"),
    "form2": ("name", "uscc", "subtype", "level", "supervising_department", "district_code", "street_code",
              "address", "industry", "employees", "operation_status", "person_in_charge",
              "person_in_charge_is_member", "public_sector_staffed", "legal_representative", "formal_members",
              "probationary_members", "party_organization", "no_organization_reason"),
}
# What each column takes (the template's notes sheet); the import's own rules, in its words.
RULES = {
    "name": "必填，2至200个字，不含控制字符或不可见字符；以 = + - @ 开头的名称按文本保存",
    "uscc": "必填，18位统一社会信用代码（含校验位）；本列为文本格式，请勿改为数字",
    "kind": "选填：非公有制经济组织（默认）或 农村新型经营主体",
    "subtype": "必填：{subtypes}",
    "level": "必填：市级 或 区级",
    "supervising_department": "选填：业务主管单位名称；无主管单位的留空或填“无”",
    "district_code": "必填：区或功能区名称（或6位代码）",
    "street_code": "必填：该区的街道（乡镇）或开发区（园区）名称（或9位代码）",
    "address": "选填，至多200个字",
    "industry": "必填：行业名称（见本表末行“行业（可选值）”）",
    "employees": "必填：0或正整数",
    "above_scale": "选填：是/否（留空为否）",
    "operation_status": "必填：正常经营、停业歇业 或 长期未经营",
    "person_in_charge": "必填，至多50个字",
    "person_in_charge_is_member": "选填：是/否（留空为否）",
    "public_sector_staffed": "选填：是/否（R5 功能型党组织；留空为未调查）",
    "legal_representative": "选填，至多50个字",
    "formal_members": "必填：0或正整数，不多于职工（从业人员）人数",
    "probationary_members": "必填：0或正整数",
    "party_organization": "必填：未建、单独组建、联合组建 或 功能型",
    "no_organization_reason": "党组织情况为“未建”时必填，至多500个字",
}
YES, NO = "是", "否"
_NEED = re.compile(r"^(必填|选填)[，：]")


def form_of(unit: LedgerUnit, form: str) -> None:
    """A unit's ledger is written on its own form only (422 naming ``form``)."""
    expected = FORM_OF_UNIT[unit.kind]
    if form != expected:
        raise RuleViolation(f"form：{unit.name}是{FORM_NAMES[expected]}，不是{FORM_NAMES[form]}"
                            f"（非公企业与农村新型经营主体填附表1，社会组织填附表2）", field="form", rule="R1")


def columns(form: str) -> list[Column]:
    """The form's columns in template order."""
    by_field = {column.field: column for column in FORMS[form]}
    return [by_field[name] for name in ORDER[form]]


def headers(form: str) -> list[str]:
    """The header row: 序号, then each column's template header (the first the import accepts)."""
    return [SERIAL, *(column.headers[0] for column in columns(form))]


def notes(form: str, vocabulary: Vocabulary) -> list[tuple[str, str, str]]:
    """(column header, 必填/选填, rule) for each column: the template's notes sheet."""
    kinds = ("non_public_enterprise", "rural_entity") if form == "form1" else ("social_organization",)
    subtypes = "；".join(f"{KINDS[kind]}：{'、'.join(SUBTYPES[kind].values())}" for kind in kinds)
    found = [(SERIAL, "选填", "导入时忽略")]
    for column in columns(form):
        rule = _NEED.sub("", RULES[column.field].format(subtypes=subtypes))  # the second column says it
        found.append((column.headers[0], "必填" if column.required else "选填", rule))
    found.append(("行业（可选值）", "", "、".join(item.name for item in vocabulary.industries.values())))
    return found


def row(form: str, serial: int, facts: Mapping[str, Any], persons: Mapping[str, Any] | None,
        vocabulary: Vocabulary) -> list[Any]:
    """One entity's row: each value as the word the import reads back to the same fact. ``persons`` None
    (erased, or not the caller's to read) leaves the persons' cells blank."""
    values = {**facts, **(persons or {})}
    return [serial, *(_word(column.field, values, vocabulary) for column in columns(form))]


def _word(field: str, facts: Mapping[str, Any], vocabulary: Vocabulary) -> Any:
    value = facts.get(field)
    if value is None:
        return None
    territory = vocabulary.territory
    if field == "kind":
        return KINDS[value]
    if field == "subtype":
        return SUBTYPES[facts["kind"]][value]
    if field == "level":
        return LEVELS[value]
    if field == "supervising_department":
        return vocabulary.departments.supervising_departments.get(value, value)
    if field == "district_code":
        district = territory.district(value)
        return district.name if district is not None else value
    if field == "street_code":
        street = territory.street(value)
        return street.name if street is not None else value
    if field == "industry":
        item = vocabulary.industries.get(value)
        return item.name if item is not None else value
    if field == "operation_status":
        return OPERATION_STATUSES[value]
    if field == "party_organization":
        return PARTY_ORGANIZATIONS[value]
    if isinstance(value, bool):
        return YES if value else NO
    return value
