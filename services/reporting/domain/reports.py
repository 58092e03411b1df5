"""Semi-monthly reports (半月报送, R11): deadlines, on time / late / missing, discrepancies.

Time zone: city time, China Standard Time (UTC+8, no daylight saving). A report for
the deadline D is on time when submitted by the end of D in city time, late when
submitted after it, and missing when none has arrived by the end of D + GRACE_DAYS
(before that it is pending). A submitted figure that differs from the figure derived
from the events as of the end of D is a discrepancy.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from .rates import Counters

CITY_TIME = timezone(timedelta(hours=8), "CST")
GRACE_DAYS = 2
CITY_ORGANS = "city-organs"
CIVIL_AFFAIRS = "civil-affairs"
FIGURE_NAMES_ZH = {
    "baseline": "党建基数", "organization_covered": "已建党组织（组织覆盖）", "standalone_covered": "单独组建",
    "work_covered": "工作覆盖（未建党组织）", "two_covered": "两个覆盖", "required": "应建党组织",
    "required_covered": "应建已建", "formal_members": "正式党员", "probationary_members": "预备党员",
}
CHECK_KINDS_ZH = {"acceptance": "检查验收", "spot_check": "随机抽查", "look_back": "回头看"}  # R12


def end_of_day(day: date) -> datetime:
    """The last instant of a city-time day, in UTC (events recorded at or before it count)."""
    return datetime.combine(day + timedelta(days=1), time(0), CITY_TIME).astimezone(timezone.utc) - timedelta(
        microseconds=1)


def city_date(moment: datetime) -> date:
    return moment.astimezone(CITY_TIME).date()


def reporting_units(district_codes: list[str]) -> list[str]:
    """R11: the district organization departments, the city organs' working committee, civil affairs."""
    return [f"district-{code}" for code in district_codes] + [CITY_ORGANS, CIVIL_AFFAIRS]


def unit_departments(unit: str, departments: list[str]) -> list[str]:
    """The responsible units (EntityStatus.department) a reporting unit answers for."""
    if unit == CITY_ORGANS:
        return [d for d in departments if d.startswith("supervisor-")]
    return [d for d in departments if d == unit]


def unit_counters(unit: str, by_department: Mapping[str, Counters]) -> Counters:
    total = Counters()
    for department in unit_departments(unit, list(by_department)):
        total = total + by_department[department]
    return total


def timeliness(deadline: date, submitted_at: datetime | None, evaluated_at: datetime) -> str:
    """on_time | late | missing | pending."""
    if submitted_at is not None:
        return "on_time" if submitted_at <= end_of_day(deadline) else "late"
    return "missing" if evaluated_at > end_of_day(deadline + timedelta(days=GRACE_DAYS)) else "pending"


@dataclass(frozen=True)
class Discrepancy:
    figure: str
    reported: int
    derived: int

    @property
    def difference(self) -> int:
        return self.reported - self.derived

    def as_dict(self) -> dict:
        return {"figure": self.figure, "reported": self.reported, "derived": self.derived,
                "difference": self.difference}


def discrepancies(figures: Mapping[str, int], derived: Counters) -> list[Discrepancy]:
    """Every submitted figure that differs from the one derived from the events (不得报假数)."""
    found = []
    for name in sorted(figures):
        value = getattr(derived, name, None)
        if value is None:
            raise KeyError(f"unknown figure {name!r}")
        if int(figures[name]) != value:
            found.append(Discrepancy(name, int(figures[name]), value))
    return found
