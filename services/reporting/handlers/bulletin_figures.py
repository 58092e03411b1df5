"""Assemble a bulletin's figures from a figures source: the as-of PostgreSQL projections
(GROUP BY over the derived entity statuses, no event scanning) or, in the offline
re-derivation, the in-memory fold. The same assembly for both, so the data files match.
"""

from datetime import date
from typing import Protocol

from platform_core.reference import load_calendar, load_departments, load_territory
from reporting.domain.bulletin import FIGURES_FORMAT, BulletinData, build_rows
from reporting.domain.rates import Counters
from reporting.domain.reports import (
    city_date, discrepancies, end_of_day, reporting_units, timeliness, unit_counters, unit_departments)

LIST_LIMIT = 200  # entities listed per section of the data file (counts are complete)
CONDITIONS = ("overdue_formation", "overdue_acceptance", "r3_violation", "declared_unconfirmed")


class FiguresSource(Protocol):
    """Where a bulletin's figures come from (one as-of state)."""

    def counters_by_department(self) -> dict[str, Counters]: ...

    def reports(self, deadlines: list[date]) -> list[dict]:
        """report_id, unit, deadline, submitted_at, figures, event_id; by deadline, unit, submitted_at."""

    def entities(self, condition: str, limit: int, departments: list[str] | None = None) -> list[dict]:
        """Baseline entities meeting a named condition (CONDITIONS, or a figure name), optionally of
        some responsible units, by entity id: entity_id, name, department, formal_members,
        organizations (list of [id, mode]), task_state, organization_covered, declared_organization."""

    def failed_checks(self) -> list[dict]:
        """check_id, organization_id, check_kind, checked_on (date), entity_ids, findings, event_id,
        unit (the smallest responsible unit among its entities); by checked_on, check_id."""


def standalone_start(cutoff: date) -> date | None:
    """The campaign's starting point of the standalone rate's change (二(四)2: "明显提升"): the end of the survey
    milestone's day (二(三), 8-26), when the baseline and the organizations it already had were reported. A
    cutoff on or before it has no starting point yet (None)."""
    survey = load_calendar().milestone("survey").due
    return survey if cutoff > survey else None


def previous_cutoff(cutoff: date) -> date | None:
    """The last semi-monthly report deadline before ``cutoff`` (R11), per the campaign calendar."""
    earlier = [d for d in load_calendar().report_deadlines() if d < cutoff]
    return earlier[-1] if earlier else None


def district_names() -> dict[str, str]:
    return {d.code: d.name for d in load_territory().districts}


def supervisor_names() -> dict[str, str]:
    return dict(load_departments().supervising_departments)


LEDGER_AGGREGATES_ZH = {"social": "社会组织台帐", "enterprise": "非公企业汇总台帐"}


def unit_name(unit: str) -> str:
    """The Chinese name of a reporting, responsible or ledger unit (platform_core.rules.ledgers)."""
    if unit.startswith("street-"):
        street = load_territory().street(unit.removeprefix("street-"))
        if street is not None:
            return district_names().get(street.district_code, "") + street.name
        return unit
    district, _, aggregate = unit.removeprefix("district-").partition("-")
    if unit.startswith("district-") and aggregate in LEDGER_AGGREGATES_ZH:
        return district_names().get(district, district) + LEDGER_AGGREGATES_ZH[aggregate]
    if unit.startswith("district-"):
        return district_names().get(unit.removeprefix("district-"), unit) + "委组织部"
    if unit.startswith("supervisor-"):
        return supervisor_names().get(unit.removeprefix("supervisor-"), unit)
    return {"city-organs": "市直机关工委", "civil-affairs": "市民政局"}.get(unit, unit)


def report_section(source: FiguresSource, cutoff: date, previous: date | None,
                   now_by_department: dict[str, Counters], before_by_department: dict[str, Counters],
                   previous_source: FiguresSource | None = None) -> list[dict]:
    """Every reporting unit's report for the previous deadline and this one, evaluated at the cutoff."""
    deadlines = [d for d in (previous, cutoff) if d is not None and d in load_calendar().report_deadlines()]
    evaluated_at = end_of_day(cutoff)
    submitted = {}
    for row in source.reports(deadlines):
        submitted.setdefault((row["unit"], row["deadline"]), row)  # the first submission counts
    section = []
    for deadline in deadlines:
        derived_by = before_by_department if deadline == previous else now_by_department
        derived_from = previous_source if deadline == previous else source
        for unit in reporting_units(list(district_names())):
            report = submitted.get((unit, deadline))
            status = timeliness(deadline, report["submitted_at"] if report else None, evaluated_at)
            entry = {"unit": unit, "unit_name": unit_name(unit), "deadline": deadline.isoformat(), "status": status,
                     "report_id": report["report_id"] if report else None,
                     "submitted_on": city_date(report["submitted_at"]).isoformat() if report else None,
                     "event_id": report["event_id"] if report else None, "discrepancies": []}
            if report:
                entry["discrepancies"] = [
                    {**d.as_dict(), "derived_entity_ids": [
                        e["entity_id"] for e in derived_from.entities(
                            d.figure, LIST_LIMIT, unit_departments(unit, list(derived_by)))]
                     if derived_from is not None else []}
                    for d in discrepancies(report["figures"], unit_counters(unit, derived_by))]
            section.append(entry)
    return section


def overdue_tasks(source: FiguresSource, cutoff: date) -> list[dict]:
    """R9/R10 on the cutoff date: after the formation deadline, entities of the required set without an
    organization and entities with neither an organization nor work coverage; after the acceptance
    deadline also organization-covered tasks not closed (platform_core.rules.closing)."""
    calendar = load_calendar()
    if cutoff > calendar.milestone("acceptance").due:
        condition = "overdue_acceptance"
    elif cutoff > calendar.milestone("formation").due:
        condition = "overdue_formation"
    else:
        return []
    return [{"entity_id": r["entity_id"], "name": r["name"], "department": r["department"],
             "task_state": r["task_state"], "milestone": "acceptance" if r["organization_covered"] else "formation"}
            for r in source.entities(condition, LIST_LIMIT)]


def declared_unconfirmed(source: FiguresSource) -> list[dict]:
    """Organizations the survey declared that formation has not recorded yet (the reconciliation to do)."""
    return [{"entity_id": r["entity_id"], "name": r["name"], "department": r["department"],
             "declared_organization": r["declared_organization"]}
            for r in source.entities("declared_unconfirmed", LIST_LIMIT)]


def r3_violations(source: FiguresSource) -> list[dict]:
    return [{"entity_id": r["entity_id"], "name": r["name"], "department": r["department"],
             "formal_members": r["formal_members"], "organizations": [list(o) for o in r["organizations"]]}
            for r in source.entities("r3_violation", LIST_LIMIT)]


def failed_checks(source: FiguresSource, cutoff: date) -> list[dict]:
    return [{"check_id": c["check_id"], "organization_id": c["organization_id"], "check_kind": c["check_kind"],
             "checked_on": c["checked_on"].isoformat(), "unit": c["unit"], "entity_ids": list(c["entity_ids"]),
             "findings": list(c["findings"]), "event_id": c["event_id"]}
            for c in source.failed_checks() if c["checked_on"] <= cutoff][:LIST_LIMIT]


def assemble(source: FiguresSource, previous_source: FiguresSource | None, cutoff: date,
             previous: date | None, start_source: FiguresSource | None = None, start: date | None = None,
             figures_format: int = FIGURES_FORMAT) -> BulletinData:
    """``start_source``: the state at ``start`` (``standalone_start``), for the standalone rate's change since
    the campaign's starting point (format 2)."""
    now = source.counters_by_department()
    before = previous_source.counters_by_department() if previous_source is not None else {}
    at_start = start_source.counters_by_department() if start_source is not None else None
    districts, departments, total = build_rows(now, before, district_names(), supervisor_names(), at_start)
    territory = load_territory()
    return BulletinData(
        start_date=start if start_source is not None else None, figures_format=figures_format,
        city=territory.code, city_name=territory.name, cutoff_date=cutoff, previous_cutoff_date=previous,
        districts=districts, departments=departments, total=total,
        reports=report_section(source, cutoff, previous, now, before, previous_source),
        overdue_tasks=overdue_tasks(source, cutoff), r3_violations=r3_violations(source),
        failed_checks=failed_checks(source, cutoff), declared_unconfirmed=declared_unconfirmed(source))
