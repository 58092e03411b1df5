"""The campaign board (挂图作战): each baseline entity's task, its deadline (R10) and lateness.

The deadline depends on the state: until an organization is formed, the formation
milestone (2016: 11-20); formed or checked but not closed, the end of the acceptance
checks (12-05). A closed task has no deadline. ``overdue`` = today after the deadline.
"""

from datetime import date

from platform_core.reference import CampaignCalendar

MILESTONE_BY_STATE = {"open": "formation", "organization_formed": "acceptance", "checked": "acceptance"}


def deadline(calendar: CampaignCalendar, state: str) -> date | None:
    key = MILESTONE_BY_STATE.get(state)
    return calendar.milestone(key).due if key else None


def overdue(calendar: CampaignCalendar, state: str, today: date) -> bool:
    due = deadline(calendar, state)
    return due is not None and today > due


def effective_state(persisted: str | None, covered: bool) -> str:
    """The persisted state (checked/closed, or after a reopening) combined with current coverage."""
    if persisted in ("checked", "closed"):
        return persisted
    return "organization_formed" if covered else "open"
