"""R2 (must have a Party organization) and R2b (must have a member), from an entity's facts.

``facts`` are the survey's facts (registry's view) or the same facts with the formal-member
count the platform derives from membership (formation and reporting): the caller decides which
count applies (docs/rules.md, R2 and R13).
"""

from collections.abc import Mapping
from typing import Any

MUST_STAND_ALONE = 3  # 二(四)2: "凡有3名及以上正式党员的，必须单独建立党组织" (R2, R3)
ENTERPRISE_EMPLOYEES_FOR_ORGANIZATION = 100  # 一: 100人以上的建有党的组织
ENTERPRISE_EMPLOYEES_FOR_MEMBER = 50  # 一: 职工50人以上的有党员 (R2b)
SCHOOL_HOSPITAL_STAFF = 30  # 一: 从业人员30人以上的民办学校、民办医院
LARGE_INDUSTRIES = ("internet", "cultural_creative")  # 一: 规模较大、具备组建条件的互联网、文化创意等企业
FIRMS = ("law_firm", "accounting_firm", "tax_firm")

# Why an entity is in the required set. The status shows the first that applies; segments count every one.
REASONS = {
    "enterprise_100": "R2：职工100人以上的非公企业",
    "large_internet_cultural": "R2：规模较大、具备组建条件的互联网、文化创意企业",
    "city_social_organization": "R2：市级社会组织",
    "school_hospital_30": "R2：从业人员30人以上的民办学校、民办医院",
    "professional_firm": "R2：律师、会计师、税务师事务所",
    "rural_ready": "R2：符合条件的农村新型经营主体",
    "formal_members_3": "R2：有3名及以上正式党员",
}
MEMBER_REASON = "R2b：职工50人以上的非公企业"


def _int(value: Any) -> int:
    return int(value or 0)


def required_reason_codes(facts: Mapping[str, Any]) -> tuple[str, ...]:
    """Every R2 reason (keys of REASONS, in REASONS' order of precedence) the entity must have a Party
    organization for; empty when none applies. An entity may meet several (a 120-employee enterprise
    with 3 formal members); segments count it under each."""
    kind, subtype = facts.get("kind"), facts.get("subtype")
    employees, formal = _int(facts.get("employees")), _int(facts.get("formal_members"))
    reasons: list[str] = []
    if kind == "non_public_enterprise":
        if employees >= ENTERPRISE_EMPLOYEES_FOR_ORGANIZATION:
            reasons.append("enterprise_100")
        if facts.get("industry") in LARGE_INDUSTRIES and facts.get("above_scale") and formal >= MUST_STAND_ALONE:
            reasons.append("large_internet_cultural")
    elif kind == "social_organization":
        if facts.get("level") == "city":  # 三(二): 确保到11月底，市级社会组织建有党的组织
            reasons.append("city_social_organization")
        if subtype in ("private_school", "private_hospital") and employees >= SCHOOL_HOSPITAL_STAFF:
            reasons.append("school_hospital_30")
        if subtype in FIRMS:
            reasons.append("professional_firm")
    elif kind == "rural_entity" and formal >= MUST_STAND_ALONE:
        reasons.append("rural_ready")
    if formal >= MUST_STAND_ALONE:
        reasons.append("formal_members_3")
    return tuple(reasons)


def required_reason_code(facts: Mapping[str, Any]) -> str | None:
    """The first R2 reason (a key of REASONS) the entity must have a Party organization for, or None."""
    reasons = required_reason_codes(facts)
    return reasons[0] if reasons else None


def organization_required(facts: Mapping[str, Any]) -> str | None:
    """The R2 reason, in Chinese, an entity must have a Party organization, or None."""
    code = required_reason_code(facts)
    return REASONS[code] if code else None


def member_required(facts: Mapping[str, Any]) -> str | None:
    """R2b: a non-public enterprise with 50 or more employees must have a member."""
    if facts.get("kind") == "non_public_enterprise" and _int(facts.get("employees")) >= ENTERPRISE_EMPLOYEES_FOR_MEMBER:
        return MEMBER_REASON
    return None
