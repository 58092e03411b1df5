"""R7 rates, each with its numerator and denominator, from per-unit counters.

Counters add up (a district is the sum of its streets), rates never do: every
level is computed from its own counters. Percentages are Decimals rounded half
up to two places, so published figures are reproducible byte for byte.
"""

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from decimal import ROUND_HALF_UP, Decimal

from .status import EntityStatus

TARGET_COVERAGE = Decimal("80")  # the plan's 三(三): 80% by year end
TARGET_REQUIRED = Decimal("100")  # the required set: 100%


@dataclass(frozen=True)
class Counters:
    """Counts over the baseline entities of one unit (R1: flagged entities are out)."""

    baseline: int = 0
    organization_covered: int = 0
    standalone_covered: int = 0
    work_covered: int = 0  # work-covered without an organization (R6)
    two_covered: int = 0
    required: int = 0  # R2 set
    required_covered: int = 0
    member_required: int = 0  # R2b set
    member_required_met: int = 0
    r3_violations: int = 0
    tasks_closed: int = 0
    formal_members: int = 0
    probationary_members: int = 0
    federation_members: int = 0  # 工商联's member enterprises in the baseline (三(二))
    federation_members_covered: int = 0

    def __add__(self, other: "Counters") -> "Counters":
        return Counters(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


COUNTER_NAMES = tuple(f.name for f in fields(Counters))


def count(status: EntityStatus) -> Counters:
    """One entity's contribution; zero outside the baseline."""
    if not status.in_baseline:
        return Counters()
    required = status.required_reason is not None
    member_required = status.member_required_reason is not None
    return Counters(
        baseline=1, organization_covered=int(status.organization_covered),
        standalone_covered=int(status.standalone_covered), work_covered=int(status.work_covered),
        two_covered=int(status.two_covered), required=int(required),
        required_covered=int(required and status.organization_covered),
        member_required=int(member_required),
        member_required_met=int(member_required and status.member_requirement_met),
        r3_violations=int(status.r3_violation), tasks_closed=int(status.task_state == "closed"),
        federation_members=int(status.federation_member),
        federation_members_covered=int(status.federation_member and status.organization_covered),
        formal_members=status.formal_members, probationary_members=status.probationary_members)


def aggregate(statuses: Iterable[EntityStatus], key: Callable[[EntityStatus], str]) -> dict[str, Counters]:
    totals: dict[str, Counters] = {}
    for status in statuses:
        contribution = count(status)
        if contribution.baseline:
            name = key(status)
            totals[name] = totals.get(name, Counters()) + contribution
    return totals


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def percent(self) -> Decimal | None:
        """None when the denominator is zero (no rate, not 0%)."""
        if self.denominator == 0:
            return None
        return (Decimal(100) * self.numerator / self.denominator).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def text(self) -> str:
        percent = self.percent
        return "—" if percent is None else f"{percent}%"

    def as_dict(self) -> dict:
        percent = self.percent
        return {"numerator": self.numerator, "denominator": self.denominator,
                "percent": None if percent is None else str(percent)}


def rates(counters: Counters) -> dict[str, Rate]:
    """R7: organization coverage, two-coverage, standalone rate, required-set coverage (and R2b)."""
    c = counters
    return {
        "organization_coverage": Rate(c.organization_covered, c.baseline),
        "two_coverage": Rate(c.two_covered, c.baseline),
        "standalone_rate": Rate(c.standalone_covered, c.organization_covered),
        "required_coverage": Rate(c.required_covered, c.required),
        "member_required_coverage": Rate(c.member_required_met, c.member_required),
        "federation_member_coverage": Rate(c.federation_members_covered, c.federation_members),
    }


RATE_NAMES_ZH = {
    "organization_coverage": "组织覆盖率", "two_coverage": "两个覆盖率", "standalone_rate": "单独组建率",
    "required_coverage": "应建尽建覆盖率", "member_required_coverage": "50人以上企业有党员率",
    "federation_member_coverage": "工商联会员企业党组织覆盖率",
}
