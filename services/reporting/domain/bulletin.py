"""The bulletin's figures (通报): rows per district and department, ranks, changes, lists.

Pure: built from counters and lists the caller read from the projection (or the
in-memory fold of the offline re-derivation). ``data_bytes`` is the data file whose
SHA-256 BulletinPublished records: canonical JSON, so a regeneration from a full
replay gives the same bytes.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from platform_core.envelope import canonical_json

from .rates import Counters, Rate, rates
from .reports import CITY_ORGANS, CIVIL_AFFAIRS, unit_counters

ROW_FIGURES = ("baseline", "organization_covered", "formal_members", "probationary_members")
# The counting rules a bulletin's figures were derived under (docs/rules.md): a re-derivation by code of
# another version is not comparable byte for byte. 2: the rules as corrected on 2026-12-03.
RULES_VERSION = 2
# The data file's layout. 1: the figures as first published (no ``figures_format`` key; still verified as such).
# 2: the 通报 — every row also has the work-coverage rate, the standalone rate's change since the previous cutoff
# and since the campaign's starting point, and the file carries the published document (文号, 主送, narrative).
FIGURES_FORMAT = 2


def points(now: Decimal | None, before: Decimal | None) -> str | None:
    """A rate's change in percentage points (text, as the data file writes decimals); None without both rates."""
    return None if now is None or before is None else str(now - before)


def work_coverage(counters: Counters) -> Rate:
    """Work coverage (docs/rules.md, R6/R7): of the baseline entities without an organization, the share that is
    work-covered (the plan's target for "the rest")."""
    return Rate(counters.work_covered, counters.baseline - counters.organization_covered)


@dataclass(frozen=True)
class BulletinRow:
    unit: str
    name: str
    counters: Counters
    previous: Counters
    start: Counters | None = None  # at the campaign's starting point (format 2); None before it

    def as_dict(self, rank: int | None, figures_format: int = FIGURES_FORMAT) -> dict:
        r, p = rates(self.counters), rates(self.previous)
        change = {name: getattr(self.counters, name) - getattr(self.previous, name) for name in ROW_FIGURES}
        change["organization_coverage_points"] = points(r["organization_coverage"].percent,
                                                        p["organization_coverage"].percent)
        found = {"unit": self.unit, "name": self.name, "counters": self.counters.as_dict(),
                 "rates": {k: v.as_dict() for k, v in r.items()}, "change": change, "rank": rank}
        if figures_format >= 2:
            found["rates"]["work_coverage"] = work_coverage(self.counters).as_dict()
            change["standalone_rate_points"] = points(r["standalone_rate"].percent, p["standalone_rate"].percent)
            start = rates(self.start)["standalone_rate"] if self.start is not None else None
            found["since_start"] = {
                "standalone_rate": start.as_dict() if start is not None else None,
                "standalone_rate_points": points(r["standalone_rate"].percent, start.percent) if start is not None else None}
        return found


def rank(rows: list[BulletinRow]) -> dict[str, int]:
    """Rank by organization coverage (highest first), then two-coverage, then unit code; no rate = last."""
    def key(row: BulletinRow):
        r = rates(row.counters)
        cov, two = r["organization_coverage"].percent, r["two_coverage"].percent
        return (cov is None, -(cov or 0), -(two or 0), row.unit)
    return {row.unit: position for position, row in enumerate(sorted(rows, key=key), start=1)}


@dataclass(frozen=True)
class BulletinData:
    city: str
    city_name: str
    cutoff_date: date
    previous_cutoff_date: date | None
    districts: list[BulletinRow]
    departments: list[BulletinRow]
    total: BulletinRow
    reports: list[dict] = field(default_factory=list)  # unit, deadline, status, submitted_at, discrepancies
    overdue_tasks: list[dict] = field(default_factory=list)
    r3_violations: list[dict] = field(default_factory=list)
    failed_checks: list[dict] = field(default_factory=list)
    declared_unconfirmed: list[dict] = field(default_factory=list)
    start_date: date | None = None  # the campaign's starting point of the standalone rate's change (format 2)
    figures_format: int = FIGURES_FORMAT
    # The published document (format 2): 文号, 主送, issuer, publication date, narrative. Not derived: the
    # city department writes it; it is in the data file so its SHA-256 (in BulletinPublished) covers it.
    document: dict | None = None

    def as_dict(self) -> dict:
        district_ranks = rank(self.districts)
        department_ranks = rank(self.departments)
        fmt = self.figures_format
        found = {
            "city": self.city, "city_name": self.city_name, "cutoff_date": self.cutoff_date.isoformat(),
            "previous_cutoff_date": self.previous_cutoff_date.isoformat() if self.previous_cutoff_date else None,
            "total": self.total.as_dict(None, fmt),
            "districts": [row.as_dict(district_ranks[row.unit], fmt) for row in self.districts],
            "departments": [row.as_dict(department_ranks[row.unit], fmt) for row in self.departments],
            "reports": self.reports, "overdue_tasks": self.overdue_tasks, "r3_violations": self.r3_violations,
            "failed_checks": self.failed_checks, "declared_unconfirmed": self.declared_unconfirmed,
            "rules_version": RULES_VERSION,
        }
        if fmt >= 2:
            found.update(figures_format=fmt, start_date=self.start_date.isoformat() if self.start_date else None,
                         document=self.document)
        return found

    def data_bytes(self) -> bytes:
        return canonical_json(self.as_dict())


def build_rows(by_department: Mapping[str, Counters], previous: Mapping[str, Counters],
               district_names: Mapping[str, str], supervisor_names: Mapping[str, str],
               start: Mapping[str, Counters] | None = None
               ) -> tuple[list[BulletinRow], list[BulletinRow], BulletinRow]:
    """District rows (every district of the territory, even without entities), department rows
    (civil affairs, the city organs' committee and each supervising unit under it), and the city.
    ``start``: the counters at the campaign's starting point (None before it)."""
    def at_start(unit: str) -> Counters | None:
        return None if start is None else start.get(unit, Counters())

    def aggregate_at_start(unit: str) -> Counters | None:
        return None if start is None else unit_counters(unit, start)

    districts = [BulletinRow(f"district-{code}", name, by_department.get(f"district-{code}", Counters()),
                             previous.get(f"district-{code}", Counters()), at_start(f"district-{code}"))
                 for code, name in district_names.items()]
    unknown = sorted({d for d in (*by_department, *previous) if d.startswith("district-")}
                     - {row.unit for row in districts})
    districts += [BulletinRow(d, d.removeprefix("district-"), by_department.get(d, Counters()),
                              previous.get(d, Counters()), at_start(d)) for d in unknown]
    departments = [BulletinRow(CIVIL_AFFAIRS, "市民政局", unit_counters(CIVIL_AFFAIRS, by_department),
                               unit_counters(CIVIL_AFFAIRS, previous), aggregate_at_start(CIVIL_AFFAIRS)),
                   BulletinRow(CITY_ORGANS, "市直机关工委（汇总）", unit_counters(CITY_ORGANS, by_department),
                               unit_counters(CITY_ORGANS, previous), aggregate_at_start(CITY_ORGANS))]
    supervisors = sorted({d for d in (*by_department, *previous) if d.startswith("supervisor-")})
    departments += [BulletinRow(d, supervisor_names.get(d.removeprefix("supervisor-"), d),
                                by_department.get(d, Counters()), previous.get(d, Counters()), at_start(d))
                    for d in supervisors]
    total_now = sum(by_department.values(), Counters())
    total_before = sum(previous.values(), Counters())
    total_start = None if start is None else sum(start.values(), Counters())
    return districts, departments, BulletinRow("city", "全市", total_now, total_before, total_start)
