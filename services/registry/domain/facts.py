"""Validating an entity's facts, field by field, with Chinese reasons that name the field and the rule.

One validator serves the HTTP commands and the spreadsheet import, so a row
of 附表1 and a JSON body are held to exactly the same rules.
"""

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from platform_core.reference import DepartmentDirectory, Territory

from .uscc import InvalidUscc, validate_uscc
from .vocabulary import (FIELD_NAMES, KINDS, LEVELS, MAX_PEOPLE, OPERATION_STATUSES, PARTY_ORGANIZATIONS,
                         SUBTYPES)

UPDATABLE = ("employees", "above_scale", "formal_members", "probationary_members", "operation_status",
             "party_organization", "person_in_charge", "person_in_charge_is_member", "legal_representative",
             "address", "industry", "no_organization_reason", "public_sector_staffed")
ALL_FIELDS = ("kind", "subtype", "uscc", "name", "district_code", "street_code", "level",
              "supervising_department") + UPDATABLE


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    rule: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    """The reference data validation needs (territory, supervising units, industries)."""

    territory: Territory
    departments: DepartmentDirectory
    industries: Mapping[str, Any]


class _Errors(list):
    def add(self, field: str, message: str, rule: str | None = None) -> None:
        self.append(FieldError(field, f"{FIELD_NAMES.get(field, field)}：{message}", rule))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _choice(errors: _Errors, field: str, value: Any, choices: Mapping[str, str], required: bool = True) -> str | None:
    text = _text(value)
    if text is None:
        if required:
            errors.add(field, "必填")
        return None
    if text not in choices:
        errors.add(field, f"“{text}”不是可选值（{'、'.join(f'{k}={v}' for k, v in choices.items())}）")
        return None
    return text


def _count(errors: _Errors, field: str, value: Any, required: bool = True) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, "必填，应为0或正整数")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, f"“{value}”不是整数")
        return None
    if not 0 <= value <= MAX_PEOPLE:
        errors.add(field, f"{value}超出范围（0至{MAX_PEOPLE}）")
        return None
    return value


def _flag(errors: _Errors, field: str, value: Any, default: bool | None = False) -> bool | None:
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(field, f"“{value}”应为是或否")
        return None
    return value


# Characters a name never holds: controls (Cc), invisible formatting such as zero-width and bidirectional
# overrides (Cf), private-use code points (Co: they show differently on every machine), surrogates (Cs) and
# unassigned ones (Cn). A name holding one looks like another name, or like nothing.
NOT_IN_NAMES = {"Cc": "控制字符", "Cf": "不可见的格式字符", "Co": "私人使用区字符", "Cs": "代理字符", "Cn": "未分配的字符"}


def unprintable_in_name(text: str) -> str | None:
    """Why ``text`` cannot be a name (its first character that no name holds), or None."""
    for position, char in enumerate(text, start=1):
        category = unicodedata.category(char)
        if category in NOT_IN_NAMES:
            return f"第{position}个字符 U+{ord(char):04X} 是{NOT_IN_NAMES[category]}，名称中不能有"
    return None


def _bounded(errors: _Errors, field: str, value: Any, limit: int, required: bool = False,
             name: bool = False) -> str | None:
    text = _text(value)
    if text is None:
        if required:
            errors.add(field, "必填")
        return None
    if len(text) > limit:
        errors.add(field, f"长度{len(text)}超过{limit}个字")
        return None
    if name and (reason := unprintable_in_name(text)):
        errors.add(field, reason, "plain_text")
        return None
    return text


def check_members_within_employees(errors: list, facts: Mapping[str, Any]) -> None:
    """Formal party members are among the entity's employees (附表1 职工人数, 附表2 从业人员数): never more."""
    formal, employees = facts.get("formal_members"), facts.get("employees")
    if isinstance(formal, int) and isinstance(employees, int) and formal > employees:
        errors.append(FieldError("formal_members", f"{FIELD_NAMES['formal_members']}：{formal}人多于"
                                 f"{FIELD_NAMES['employees']}{employees}人（党员是本单位的职工）", "members_within_employees"))


def _survey_facts(errors: _Errors, raw: Mapping[str, Any], vocabulary: Vocabulary, partial: bool) -> dict:
    """The updatable facts; with ``partial`` only the keys present are checked."""
    facts: dict[str, Any] = {}

    def present(field: str) -> bool:
        return not partial or field in raw

    if present("industry"):
        facts["industry"] = _choice(errors, "industry", raw.get("industry"),
                                    {code: item.name for code, item in vocabulary.industries.items()})
    for field in ("employees", "formal_members", "probationary_members"):
        if present(field):
            facts[field] = _count(errors, field, raw.get(field))
    if present("above_scale"):
        facts["above_scale"] = _flag(errors, "above_scale", raw.get("above_scale"))
    if present("operation_status"):
        facts["operation_status"] = _choice(errors, "operation_status", raw.get("operation_status"),
                                            OPERATION_STATUSES)
    if present("party_organization"):
        facts["party_organization"] = _choice(errors, "party_organization",
                                              raw.get("party_organization", None if partial else "none"),
                                              PARTY_ORGANIZATIONS)
    if present("person_in_charge"):
        facts["person_in_charge"] = _bounded(errors, "person_in_charge", raw.get("person_in_charge"), 50, True,
                                             name=True)
    if present("person_in_charge_is_member"):
        facts["person_in_charge_is_member"] = _flag(errors, "person_in_charge_is_member",
                                                    raw.get("person_in_charge_is_member"))
    if present("legal_representative"):
        facts["legal_representative"] = _bounded(errors, "legal_representative", raw.get("legal_representative"), 50,
                                                 name=True)
    if present("address"):
        facts["address"] = _bounded(errors, "address", raw.get("address"), 200)
    if present("no_organization_reason"):
        facts["no_organization_reason"] = _bounded(errors, "no_organization_reason",
                                                   raw.get("no_organization_reason"), 500)
    if present("public_sector_staffed"):  # R5; None: not surveyed
        facts["public_sector_staffed"] = _flag(errors, "public_sector_staffed", raw.get("public_sector_staffed"),
                                               default=None)
    return facts


def check_reason_given(errors: list, facts: Mapping[str, Any]) -> None:
    """六个清楚: an entity without an organization must say why (二(三))."""
    if facts.get("party_organization") == "none" and not facts.get("no_organization_reason"):
        errors.append(FieldError("no_organization_reason",
                                 f"{FIELD_NAMES['no_organization_reason']}：未建党组织的须填写原因（二(三)“六个清楚”）"))


def check_public_sector_staffed(errors: list, facts: Mapping[str, Any]) -> None:
    """R5 (二(四)4): “以机关事业单位人员为主体” is a fact of social organizations only."""
    if facts.get("public_sector_staffed") is not None and facts.get("kind") != "social_organization":
        errors.append(FieldError("public_sector_staffed",
                                 f"{FIELD_NAMES['public_sector_staffed']}：只有社会组织填写（R5 功能型党组织）", "R5"))


def validate_registration(raw: Mapping[str, Any], vocabulary: Vocabulary) -> tuple[dict, list[FieldError]]:
    """All facts of a new entity, normalized; or the list of everything wrong with them."""
    errors = _Errors()
    unknown = sorted(set(raw) - set(ALL_FIELDS))
    for field in unknown:
        errors.append(FieldError(field, f"未知字段“{field}”"))
    facts: dict[str, Any] = {}
    kind = facts["kind"] = _choice(errors, "kind", raw.get("kind"), KINDS)
    if kind is not None:
        facts["subtype"] = _choice(errors, "subtype", raw.get("subtype"), SUBTYPES[kind])
    try:
        facts["uscc"] = validate_uscc(str(raw.get("uscc") or ""))
    except InvalidUscc as exc:
        errors.append(FieldError("uscc", exc.message, exc.rule))
    name = _bounded(errors, "name", raw.get("name"), 200, required=True, name=True)
    if name is not None and len(name) < 2:
        errors.add("name", "至少2个字")
        name = None
    facts["name"] = name
    _territory(errors, facts, raw, vocabulary.territory)
    _level_and_supervisor(errors, facts, raw, vocabulary.departments)
    facts.update(_survey_facts(errors, raw, vocabulary, partial=False))
    if not errors:
        check_reason_given(errors, facts)
        check_public_sector_staffed(errors, facts)
        check_members_within_employees(errors, facts)
    return facts, list(errors)


def _territory(errors: _Errors, facts: dict, raw: Mapping[str, Any], territory: Territory) -> None:
    street_code, district_code = _text(raw.get("street_code")), _text(raw.get("district_code"))
    if street_code is None:
        errors.add("street_code", "必填，应为9位街道（乡镇）或开发区（园区）代码")
        return
    street = territory.street(street_code)
    if street is None:
        errors.add("street_code", f"“{street_code}”不是{territory.name}的街道（乡镇）或开发区（园区）代码（GB/T 2260）")
        return
    if district_code is not None and district_code != street.district_code:
        errors.add("district_code", f"“{district_code}”与街道{street.name}所属区{street.district_code}不符")
        return
    facts["street_code"], facts["district_code"] = street.code, street.district_code


def _level_and_supervisor(errors: _Errors, facts: dict, raw: Mapping[str, Any], departments: DepartmentDirectory) -> None:
    level, supervisor = _text(raw.get("level")), _text(raw.get("supervising_department"))
    if facts.get("kind") != "social_organization":
        if level is not None:
            errors.add("level", "只有社会组织有层级（市级/区级）")
        if supervisor is not None:
            errors.add("supervising_department", "只有社会组织有业务主管单位")
        facts["level"], facts["supervising_department"] = None, None
        return
    facts["level"] = _choice(errors, "level", level, LEVELS)
    if supervisor is not None and supervisor not in departments.supervising_departments:
        errors.add("supervising_department", f"“{supervisor}”不是已知的业务主管单位代码（R8）", "R8")
        supervisor = None
    facts["supervising_department"] = supervisor


def validate_changes(raw: Mapping[str, Any], vocabulary: Vocabulary) -> tuple[dict, list[FieldError]]:
    """The fields a profile update sets (only updatable ones), normalized."""
    errors = _Errors()
    for field in sorted(set(raw) - set(UPDATABLE)):
        reason = "不可通过资料更新修改" if field in ALL_FIELDS else "未知字段"
        errors.append(FieldError(field, f"{FIELD_NAMES.get(field, field)}：{reason}"))
    if not raw:
        errors.append(FieldError("changes", "没有要更新的字段"))
    changes = _survey_facts(errors, raw, vocabulary, partial=True)
    return changes, list(errors)
