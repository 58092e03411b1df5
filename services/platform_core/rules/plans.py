"""R9: 一企一策 / 一社一策 plans — which label a plan bears, and when it is overdue.

Formation lists overdue plans and reporting's to-do list "plans past their target date" counts them with
these functions, so the two cannot disagree (docs/rules.md, R9).
"""

from datetime import date

PLAN_LABELS = {"non_public_enterprise": "一企一策", "rural_entity": "一企一策", "social_organization": "一社一策"}


def plan_label(kind: str) -> str:
    """一社一策 for a social organization; 一企一策 for an enterprise (rural entities are economic entities too)."""
    return PLAN_LABELS.get(kind, "一企一策")


def plan_overdue(target_date: date, today: date, organization_covered: bool) -> bool:
    """A plan is overdue once its target date has passed on the business date ``today`` and the entity still has
    no Party organization: the target day itself is still in time; an organization (recorded, or declared by the
    survey until formation records one) fulfils the plan."""
    return not organization_covered and today > target_date
