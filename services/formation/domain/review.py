"""R3 review of joint organizations (the plan's 二(四)2, 调整优化组织设置): those covering too many units or standing too
long are restructure candidates, listed with their units that could stand alone (>= 3 formal members).

The thresholds are the campaign's (``JointReviewPolicy`` in the campaign calendar file, each default with its
reason): strictly more units than ``max_units``, strictly older than ``max_age_days`` on the business date.
A listing, never a refusal: the review decides.
"""

from collections.abc import Iterable, Mapping
from datetime import date

from platform_core.reference import JointReviewPolicy
from platform_core.rules.standalone import must_stand_alone

from .model import EntityFacts, Organization

REASON_ZH = {"units": "覆盖单位过多", "age": "建立时间较长"}


def review_reasons(organization: Organization, policy: JointReviewPolicy, today: date) -> list[str]:
    reasons = []
    if len(organization.entity_ids) > policy.max_units:
        reasons.append("units")
    if (today - organization.formed_on).days > policy.max_age_days:
        reasons.append("age")
    return reasons


def joint_review(organizations: Iterable[Organization], facts: Mapping[str, EntityFacts], policy: JointReviewPolicy,
                 today: date) -> list[dict]:
    """Active joint organizations due for review, oldest first, with the units that could stand alone (R3)."""
    found = []
    for organization in sorted(organizations, key=lambda o: (o.formed_on, o.organization_id)):
        if organization.mode != "joint" or not organization.active:
            continue
        reasons = review_reasons(organization, policy, today)
        if not reasons:
            continue
        alone = [{"entity_id": e, "formal_members": facts[e].formal_members, "member_source": facts[e].member_source}
                 for e in organization.entity_ids if e in facts and must_stand_alone(facts[e].formal_members)]
        found.append({
            "organization_id": organization.organization_id, "name": organization.name,
            "district_code": organization.district_code, "formed_on": organization.formed_on,
            "age_days": (today - organization.formed_on).days, "unit_count": len(organization.entity_ids),
            "reasons": reasons, "reasons_zh": [REASON_ZH[r] for r in reasons], "could_stand_alone": alone,
            "rule": "R3",
            "message": (f"R3: 联合党组织{'、'.join(REASON_ZH[r] for r in reasons)}，应调整优化组织设置"
                        + (f"；其中{len(alone)}个单位正式党员达3名以上，可单独组建" if alone else ""))})
    return found
