"""What the dashboard shows, decided without a database: rates against their targets,
overdue tasks (R9/R10), and the daily coverage series from coverage spans.

Pure (no FastAPI, SQLAlchemy or Kafka), so every figure on a page is tested directly.
"""

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from platform_core.reference import CampaignCalendar
from platform_core.rules import closing
from platform_core.rules.plans import plan_overdue
from reporting.domain.rates import TARGET_COVERAGE, TARGET_REQUIRED, Counters, Rate, rates
from reporting.domain.reports import end_of_day

TASK_STATES_ZH = {"open": "未组建", "declared": "摸底申报已建待核实", "organization_formed": "已组建待验收",
                  "checked": "已验收待销号", "closed": "已销号"}
MILESTONES_ZH = {"formation": "集中组建截止", "acceptance": "检查验收截止"}


@dataclass(frozen=True)
class RateCell:
    """One rate with its numerator, denominator and target (R7)."""

    name: str
    rate: Rate
    target: Decimal | None
    target_text: str

    @property
    def met(self) -> bool | None:
        percent = self.rate.percent
        if percent is None or self.target is None:
            return None
        return percent >= self.target


def rate_cells(counters: Counters) -> list[RateCell]:
    """组织覆盖率 (≥80%), 工作覆盖率 (the rest), 两个覆盖率 (100%), 应建尽建覆盖率 (100%)."""
    r = rates(counters)
    return [
        RateCell("组织覆盖率", r["organization_coverage"], TARGET_COVERAGE, f"≥{TARGET_COVERAGE}%"),
        RateCell("工作覆盖率", Rate(counters.work_covered, counters.baseline), None, "其余全部工作覆盖"),
        RateCell("两个覆盖率", r["two_coverage"], TARGET_REQUIRED, f"{TARGET_REQUIRED}%"),
        RateCell("应建尽建覆盖率", r["required_coverage"], TARGET_REQUIRED, f"{TARGET_REQUIRED}%"),
    ]


def overdue_milestone(task: Mapping, on: date, calendar: CampaignCalendar) -> str | None:
    """R9 on a day (docs/rules.md): after the formation deadline an entity of the required set without an
    organization, or one with neither an organization nor work coverage; after the acceptance deadline also
    every organization-covered task not closed. None when the task is not overdue."""
    return closing.overdue_milestone(
        on, calendar.milestone("formation").due, calendar.milestone("acceptance").due,
        required=task["required_reason"] is not None, organization_covered=task["organization_covered"],
        work_covered=task["work_covered"], closed=task["task_state"] == "closed")


def board_order(tasks: Iterable[Mapping], on: date, calendar: CampaignCalendar) -> list[dict]:
    """Tasks with their overdue milestone and whether their plan is past its target date (R9), overdue first, then open before formed before closed, then name."""
    rank = {"open": 0, "declared": 1, "organization_formed": 2, "checked": 3, "closed": 4}
    out = [{**t, "overdue": overdue_milestone(t, on, calendar),
            "plan_overdue": t.get("plan_target_date") is not None
            and plan_overdue(t["plan_target_date"], on, t["organization_covered"])} for t in tasks]
    return sorted(out, key=lambda t: (t["overdue"] is None, rank.get(t["task_state"], 3), t["name"], t["entity_id"]))


def campaign_days(calendar: CampaignCalendar, until: date | None = None) -> list[date]:
    """Every day of the campaign, from its start to its end (or ``until``, when earlier)."""
    last = min(calendar.ends, until) if until is not None else calendar.ends
    return [calendar.starts + timedelta(days=n) for n in range((last - calendar.starts).days + 1)]


def covered_per_day(spans: Iterable[tuple[str, datetime, datetime | None]], days: Sequence[date]) -> list[int]:
    """How many distinct entities some organization covered at the end of each day (city time).

    ``spans`` are (entity id, covered_from, covered_until or None) rows of rp_coverage_spans. An entity's
    overlapping spans (joint and standalone at once, a restructuring) count it once.
    """
    ends = [end_of_day(d) for d in days]
    by_entity: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for entity, start, until in spans:
        by_entity.setdefault(entity, []).append((start, until))
    delta = [0] * (len(days) + 1)
    for intervals in by_entity.values():
        for start, until in _merged(intervals):
            first = bisect_left(ends, start)  # first day whose end is at or after the start
            last = len(ends) if until is None else bisect_left(ends, until)  # days whose end lies before until
            if first < last:
                delta[first] += 1
                delta[last] -= 1
    counts, running = [], 0
    for n in range(len(days)):
        running += delta[n]
        counts.append(running)
    return counts


def _merged(intervals: list[tuple[datetime, datetime | None]]) -> list[tuple[datetime, datetime | None]]:
    merged: list[tuple[datetime, datetime | None]] = []
    for start, until in sorted(intervals, key=lambda i: i[0]):
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            previous_start, previous_until = merged[-1]
            longer = None if previous_until is None or until is None else max(previous_until, until)
            merged[-1] = (previous_start, longer)
        else:
            merged.append((start, until))
    return merged
