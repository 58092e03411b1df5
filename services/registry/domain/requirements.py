"""R2 (must have an organization) and R2b (must have a member), from an entity's survey facts.

Formation and reporting derive coverage of the required set from these rules;
the registry shows them on each entity so that a ledger reviewer sees them too.
"""

from collections.abc import Mapping
from typing import Any

FIRMS = ("law_firm", "accounting_firm", "tax_firm")


def organization_required(facts: Mapping[str, Any]) -> str | None:
    """The R2 reason an entity must have a Party organization, or None."""
    kind, subtype = facts.get("kind"), facts.get("subtype")
    employees, formal = facts.get("employees") or 0, facts.get("formal_members") or 0
    if kind == "non_public_enterprise":
        if employees >= 100:
            return "R2：职工100人以上的非公企业"
        if facts.get("industry") in ("internet", "cultural_creative") and facts.get("above_scale") and formal >= 3:
            return "R2：规模较大、具备组建条件的互联网、文化创意企业"
    elif kind == "social_organization":
        if subtype == "social_group" and facts.get("level") == "city":
            return "R2：市级社会团体"
        if subtype in ("private_school", "private_hospital") and employees >= 30:
            return "R2：从业人员30人以上的民办学校、民办医院"
        if subtype in FIRMS:
            return "R2：律师、会计师、税务师事务所"
    elif kind == "rural_entity" and formal >= 3:
        return "R2：符合条件的农村新型经营主体"
    return None


def member_required(facts: Mapping[str, Any]) -> str | None:
    """R2b: a non-public enterprise with 50 or more employees must have a member."""
    if facts.get("kind") == "non_public_enterprise" and (facts.get("employees") or 0) >= 50:
        return "R2b：职工50人以上的非公企业"
    return None
