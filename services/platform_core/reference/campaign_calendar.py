"""The campaign calendar of R10/R11: milestones, report days, bulletin cutoffs; configurable per campaign.

The 2016 dates of the plan (docs/rules.md) are the default file; another campaign passes
its own file or overrides single dates (``load_calendar(overrides={"survey": "2017-09-01"})``).
"""

from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

from ._files import read_json

DEFAULT_CALENDAR_FILE = "campaign-wuhan-2016.json"


@dataclass(frozen=True)
class Milestone:
    key: str
    name: str
    due: date
    starts: date | None = None
    section: str = ""

    def is_late(self, on: date) -> bool:
        """True once the due date has passed (R10: a unit that misses it is recorded)."""
        return on > self.due


@dataclass(frozen=True)
class SetupMilestone:
    """A setup milestone (the plan's 二(一), 二(二), 三(二)) each district records once, or each gathering zone of
    a district: its due date is a calendar milestone's (``due_of``), so moving that date moves it; ``basis`` says
    which clause it comes from and why that date (docs/milestones.md)."""

    key: str
    name: str
    scope: str  # "district": one per district; "zone": one per declared gathering zone (园区、两新组织集中的街道)
    due: date
    section: str = ""
    basis: str = ""


SETUP_SCOPES = ("district", "zone")


@dataclass(frozen=True)
class JointReviewPolicy:
    """When a joint organization is reviewed for units that could stand alone (R3, the plan's 二(四)2): more units
    than ``max_units`` (覆盖企业（单位）过多) or older than ``max_age_days`` (建立时间较长). The plan names no figures:
    each default carries its reason in the campaign file."""

    max_units: int = 5
    max_units_reason: str = ""
    max_age_days: int = 365
    max_age_reason: str = ""


@dataclass(frozen=True)
class DetectorPolicy:
    """The thresholds of the detectors of formalism and false numbers (docs/detectors.md; the plan's 三(四):
    不得做假账，不得报假数, and its warning against 形式主义). The plan names no figures: each default carries its
    reason in the campaign file (``detectors.<name>_reason``), and ``reason(name)`` returns it."""

    borrowed_in_days: int = 14
    borrowed_out_days: int = 30
    late_formation_days: int = 10
    undone_after_check_days: int = 30
    same_day_min_members: int = 3
    joint_max_streets: int = 2
    checks_window_minutes: int = 60
    checks_max_per_window: int = 6
    mismatch_alpha: float = 0.01
    mismatch_min_spot_checks: int = 2
    jump_min_figure: int = 5
    jump_min_share: float = 0.05
    shadow_min_entities: int = 4
    reasons: tuple[tuple[str, str], ...] = ()

    def reason(self, name: str) -> str:
        return dict(self.reasons).get(name, "")

    def values(self) -> dict[str, int | float]:
        return {name: getattr(self, name) for name in DETECTOR_THRESHOLDS}


DETECTOR_THRESHOLDS = ("borrowed_in_days", "borrowed_out_days", "late_formation_days", "undone_after_check_days",
                       "same_day_min_members", "joint_max_streets", "checks_window_minutes", "checks_max_per_window",
                       "mismatch_alpha", "mismatch_min_spot_checks", "jump_min_figure", "jump_min_share",
                       "shadow_min_entities")


@dataclass(frozen=True)
class CampaignCalendar:
    campaign: str
    name: str
    city: str
    starts: date
    ends: date
    milestones: tuple[Milestone, ...]
    report_days: tuple[int, ...]  # R11: days of the month by which units report
    timezone: str = "Asia/Shanghai"
    joint_review: JointReviewPolicy = JointReviewPolicy()
    detectors: DetectorPolicy = DetectorPolicy()
    setup_milestones: tuple[SetupMilestone, ...] = ()

    def setup_milestone(self, key: str) -> SetupMilestone:
        for milestone in self.setup_milestones:
            if milestone.key == key:
                return milestone
        raise KeyError(f"campaign {self.campaign} has no setup milestone {key!r}")

    def milestone(self, key: str) -> Milestone:
        for milestone in self.milestones:
            if milestone.key == key:
                return milestone
        raise KeyError(f"campaign {self.campaign} has no milestone {key!r}")

    def report_deadlines(self) -> list[date]:
        """Every semi-monthly report deadline between the start and the end of the campaign."""
        found, year, month = [], self.starts.year, self.starts.month
        while date(year, month, 1) <= self.ends:
            for day in self.report_days:
                deadline = date(year, month, day)
                if self.starts <= deadline <= self.ends:
                    found.append(deadline)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found

    def bulletin_cutoffs(self) -> list[date]:
        """The half-month calendar the city's bulletins follow (R11): each report deadline within the
        campaign; a bulletin shows the figures as of the end of one of these days, and no other."""
        return self.report_deadlines()


def _parse(raw: dict, overrides: tuple[tuple[str, str], ...]) -> CampaignCalendar:
    milestones = []
    for item in raw["milestones"]:
        milestone = Milestone(item["key"], item["name"], date.fromisoformat(item["due"]),
                              date.fromisoformat(item["starts"]) if item.get("starts") else None,
                              item.get("section", ""))
        if milestone.starts is not None and milestone.starts > milestone.due:
            raise ValueError(f"milestone {milestone.key}: starts {milestone.starts} after due {milestone.due}")
        milestones.append(milestone)
    known = {m.key for m in milestones}
    for key, value in overrides:
        if key not in known:
            raise ValueError(f"override for unknown milestone {key!r}; known: {', '.join(sorted(known))}")
        milestones = [replace(m, due=date.fromisoformat(value)) if m.key == key else m for m in milestones]
    report_days = tuple(int(day) for day in raw["report_days"])
    if not all(1 <= day <= 28 for day in report_days):
        raise ValueError("report_days must be days 1..28 of the month")
    return CampaignCalendar(raw["campaign"], raw["name"], raw["city"], date.fromisoformat(raw["starts"]),
                            date.fromisoformat(raw["ends"]), tuple(milestones), report_days,
                            raw.get("timezone", "Asia/Shanghai"),
                            _joint_review(raw.get("joint_review", {})), _detectors(raw.get("detectors", {})),
                            _setup_milestones(raw.get("setup_milestones", []), {m.key: m for m in milestones}))


def _setup_milestones(raw: list[dict], milestones: dict[str, Milestone]) -> tuple[SetupMilestone, ...]:
    """Each setup milestone's due date: its own ``due``, or the due date of the calendar milestone ``due_of``."""
    found = []
    for item in raw:
        if item.get("scope") not in SETUP_SCOPES:
            raise ValueError(f"setup milestone {item.get('key')!r}: scope must be one of {', '.join(SETUP_SCOPES)}")
        if ("due" in item) == ("due_of" in item):
            raise ValueError(f"setup milestone {item['key']!r}: give either due or due_of")
        if "due_of" in item and item["due_of"] not in milestones:
            raise ValueError(f"setup milestone {item['key']!r}: due_of names no milestone ({item['due_of']!r})")
        due = milestones[item["due_of"]].due if "due_of" in item else date.fromisoformat(item["due"])
        found.append(SetupMilestone(item["key"], item["name"], item["scope"], due, item.get("section", ""),
                                    item.get("basis", "")))
    if len({m.key for m in found}) != len(found):
        raise ValueError("setup milestones: a key appears twice")
    return tuple(found)


def _joint_review(raw: dict) -> JointReviewPolicy:
    policy = JointReviewPolicy(int(raw.get("max_units", 5)), raw.get("max_units_reason", ""),
                               int(raw.get("max_age_days", 365)), raw.get("max_age_reason", ""))
    if policy.max_units < 2 or policy.max_age_days < 1:
        raise ValueError("joint_review: max_units must be at least 2 (a joint organization has two units) and "
                         "max_age_days at least 1")
    return policy


def _detectors(raw: dict) -> DetectorPolicy:
    defaults = DetectorPolicy()
    unknown = sorted(set(raw) - set(DETECTOR_THRESHOLDS) - {f"{n}_reason" for n in DETECTOR_THRESHOLDS} - {"section"})
    if unknown:
        raise ValueError(f"detectors: unknown settings {', '.join(unknown)}")
    values = {name: type(getattr(defaults, name))(raw.get(name, getattr(defaults, name)))
              for name in DETECTOR_THRESHOLDS}
    if any(value <= 0 for value in values.values()) or values["mismatch_alpha"] >= 1:
        raise ValueError("detectors: every threshold must be positive, and mismatch_alpha below 1")
    reasons = tuple((name, raw[f"{name}_reason"]) for name in DETECTOR_THRESHOLDS if raw.get(f"{name}_reason"))
    return DetectorPolicy(**values, reasons=reasons)


@lru_cache(maxsize=8)
def _load(path: str | None, overrides: tuple[tuple[str, str], ...]) -> CampaignCalendar:
    return _parse(read_json(path, DEFAULT_CALENDAR_FILE), overrides)


def load_calendar(path: str | Path | None = None, overrides: dict[str, str] | None = None) -> CampaignCalendar:
    """A campaign's calendar from ``path`` (the 2016 plan by default), with per-milestone due-date overrides."""
    return _load(str(path) if path is not None else None, tuple(sorted((overrides or {}).items())))
