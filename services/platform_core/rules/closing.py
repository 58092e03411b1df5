"""R9/R10: when a campaign-board task is overdue, judged on the campaign's business date."""

from datetime import date


def overdue_after_formation(required: bool, organization_covered: bool, work_covered: bool) -> bool:
    """After the formation milestone (11-20) an entity is overdue only when it is in the R2 set without an
    organization, or has neither an organization nor work coverage (尚不具备条件的，实现党的工作覆盖)."""
    if organization_covered:
        return False
    return required or not work_covered


def overdue_after_acceptance(required: bool, organization_covered: bool, work_covered: bool, closed: bool) -> bool:
    """After the acceptance checks (12-05) also every organization-covered task not closed (销号, R9)."""
    if organization_covered:
        return not closed
    return overdue_after_formation(required, organization_covered, work_covered)


def overdue_milestone(on: date, formation_due: date, acceptance_due: date, *, required: bool,
                      organization_covered: bool, work_covered: bool, closed: bool) -> str | None:
    """Which milestone an entity's task is overdue against on the business date ``on``, or None."""
    if on > acceptance_due and overdue_after_acceptance(required, organization_covered, work_covered, closed):
        return "acceptance" if organization_covered else "formation"
    if on > formation_due and overdue_after_formation(required, organization_covered, work_covered):
        return "formation"
    return None
