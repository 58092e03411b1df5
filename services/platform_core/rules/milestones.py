"""R10b: setup milestones (the plan's 二(一), 二(二), 三(二)) — a milestone's state on a given day.

Reporting's checklist and its accountability trail judge every milestone with this one function, so the page
and the trail cannot disagree (docs/rules.md, R10b; docs/milestones.md).
"""

from datetime import date
from typing import Literal

MilestoneState = Literal["on_time", "late", "missing", "not_due"]
STATES_ZH: dict[str, str] = {"on_time": "按期", "late": "逾期", "missing": "缺失", "not_due": "未到期"}


def milestone_state(due: date, done_on: date | None, today: date) -> MilestoneState:
    """On ``today``: done by the due day is on time (the due day itself included); done after it, late; not done
    and the due day past, missing; not done and the due day not yet past (today included), not yet due. A record
    dated after ``today`` is not yet done on ``today`` (a checklist as of a past day)."""
    if done_on is not None and done_on <= today:
        return "on_time" if done_on <= due else "late"
    return "missing" if today > due else "not_due"
