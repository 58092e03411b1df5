"""Segments: R7's counters and rates broken down by why an entity is required, by attribute, by industry
and by street (docs/reporting.md, "Segments").

The projection hands over counters per *cell*: baseline entities that agree on every fact a breakdown
looks at. ``breakdown`` puts each cell in its segments. Segments of one breakdown may overlap (an entity
required for two reasons, a foreign-invested above-scale enterprise): an entity counts in each of its
segments, and the total counts it once, so the total is the scope's own counters, never the sum of the
rows. Rates are computed per segment from its own counters, never added up (docs/rules.md, R7).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from platform_core.rules.requirements import REASONS
from .rates import Counters, count, rates
from .status import EntityStatus

BREAKDOWNS = ("reason", "attribute", "industry", "street")
NOT_REQUIRED = "not_required"
UNSPECIFIED = "unspecified"
# the registry's ownership subtypes the commerce department's list covers: 外商投资（含港澳台投资）企业
FOREIGN_INVESTED_SUBTYPES = ("foreign_invested", "hmt_invested")
ATTRIBUTES = {"foreign_invested": "外商投资（含港澳台）企业", "above_scale": "规模以上企业",
              "federation_member": "工商联会员企业"}
REASON_NAMES = {**{code: text.removeprefix("R2：") for code, text in REASONS.items()}, NOT_REQUIRED: "不属应建范围"}
COUNTING_ZH = {
    "reason": "一个单位符合多项应建理由的，在每一项中各计一次，合计只计一次；不属应建范围的单位单列。",
    "attribute": "各项可以重叠（如外资规上企业在两项中各计一次），合计只计一次；均不属于的单位只计入合计。",
    "industry": "每个单位只属于一个行业，未填行业的单独一行。",
    "street": "每个单位只属于一个街道（乡镇、园区）。",
}


@dataclass(frozen=True)
class Cell:
    """What the breakdowns look at for a group of baseline entities (one row of the projection's grouping)."""

    required_reasons: tuple[str, ...] = ()
    industry: str | None = None
    street_code: str = ""
    foreign_invested: bool = False
    above_scale: bool = False
    federation_member: bool = False


def cell_of(status: EntityStatus) -> Cell:
    """An entity's cell (the in-memory path; adapters/segments_sql.py groups the projection the same way)."""
    return Cell(status.required_reasons, status.industry, status.street_code,
                status.kind == "non_public_enterprise" and status.subtype in FOREIGN_INVESTED_SUBTYPES,
                status.above_scale, status.federation_member)


def cells_of(statuses: Iterable[EntityStatus]) -> list[tuple[Cell, Counters]]:
    """One cell per baseline entity (outside the baseline an entity counts nowhere, R1)."""
    return [(cell_of(s), count(s)) for s in statuses if s.in_baseline]


def segments_of(cell: Cell, by: str) -> tuple[str, ...]:
    """The segments of breakdown ``by`` the cell's entities belong to (none, one or several)."""
    if by == "reason":
        return cell.required_reasons or (NOT_REQUIRED,)
    if by == "attribute":
        return tuple(name for name in ATTRIBUTES if getattr(cell, name))
    if by == "industry":
        return (cell.industry or UNSPECIFIED,)
    if by == "street":
        return (cell.street_code,)
    raise ValueError(f"by must be one of {', '.join(BREAKDOWNS)}")


@dataclass(frozen=True)
class Breakdown:
    by: str
    total: Counters
    segments: dict[str, Counters]  # in display order


def breakdown(cells: Iterable[tuple[Cell, Counters]], by: str) -> Breakdown:
    """Each cell's counters added to every segment it belongs to; the total adds each cell once."""
    if by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWNS)}")
    total, found = Counters(), {}
    for cell, counters in cells:
        total = total + counters
        for segment in segments_of(cell, by):
            found[segment] = found.get(segment, Counters()) + counters
    return Breakdown(by, total, {key: found[key] for key in sorted(found, key=lambda k: _order(by, k))})


def _order(by: str, key: str) -> tuple:
    fixed = {"reason": list(REASON_NAMES), "attribute": list(ATTRIBUTES)}.get(by)
    if fixed is not None:
        return (fixed.index(key) if key in fixed else len(fixed), key)
    return (key == UNSPECIFIED, key)


def segment_name(by: str, key: str, industries: Mapping[str, str], street_name=lambda code: code) -> str:
    """The segment's Chinese name (industry names from the reference data, street names from the territory)."""
    if by == "reason":
        return REASON_NAMES.get(key, key)
    if by == "attribute":
        return ATTRIBUTES.get(key, key)
    if by == "industry":
        return "未填行业" if key == UNSPECIFIED else industries.get(key, key)
    return street_name(key)


def as_dict(result: Breakdown, names: Mapping[str, str]) -> dict:
    """The API's shape: the total and each segment with counters and rates (numerator, denominator)."""
    def row(counters: Counters) -> dict:
        return {"counters": counters.as_dict(), "rates": {k: r.as_dict() for k, r in rates(counters).items()}}
    return {"by": result.by, "counting": COUNTING_ZH[result.by], "total": row(result.total),
            "segments": [{"segment": key, "name": names.get(key, key), **row(c)}
                         for key, c in result.segments.items()]}
