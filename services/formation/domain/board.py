"""The campaign board (挂图作战): each baseline entity's task, its deadline (R10) and lateness (R9).

The deadline depends on the state: until an organization is formed (or while only the survey declares
one), the formation milestone (2016: 11-20); formed or checked but not closed, the end of the acceptance
checks (12-05). A closed task has no deadline. Whether a task is overdue is R9 (docs/rules.md):
``platform_core.rules.closing``, on the campaign's business date.
"""

from datetime import date

from platform_core.reference import CampaignCalendar
from platform_core.rules.closing import overdue_milestone

MILESTONE_BY_STATE = {"open": "formation", "declared": "formation", "organization_formed": "acceptance",
                      "checked": "acceptance"}


def deadline(calendar: CampaignCalendar, state: str) -> date | None:
    key = MILESTONE_BY_STATE.get(state)
    return calendar.milestone(key).due if key else None


def overdue(calendar: CampaignCalendar, state: str, today: date, *, required: bool, work_covered: bool) -> str | None:
    """The milestone the task is overdue against on ``today`` (R9), or None."""
    return overdue_milestone(today, calendar.milestone("formation").due, calendar.milestone("acceptance").due,
                             required=required, organization_covered=state != "open",
                             work_covered=work_covered, closed=state == "closed")


def effective_state(persisted: str | None, covered: bool, declared: bool = False) -> str:
    """The persisted state (checked/closed, or after a reopening) combined with current coverage; ``declared``:
    the survey declares an organization formation has not recorded yet."""
    if persisted in ("checked", "closed"):
        return persisted
    if covered:
        return "organization_formed"
    return "declared" if declared else "open"
