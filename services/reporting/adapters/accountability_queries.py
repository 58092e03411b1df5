"""The accountability trail's reads: the live projection and the as-of projections of its milestones
(``live`` and ``as_of`` are schema names), and the bulletins published."""

import json
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from reporting.domain.reports import CITY_ORGANS

# The baseline entities a milestone misses, by milestone key (docs/rules.md, R9 and R2).
MISSED = {"formation": "overdue_after_formation",
          "required_set": "required_reason IS NOT NULL AND NOT organization_covered"}


def _of_unit(unit: str) -> tuple[str, dict]:
    """The entity statuses a reporting unit answers for: the city organs' committee for every supervising
    department's entities, any other unit for its own."""
    if unit == CITY_ORGANS:
        return "department LIKE 'supervisor-%'", {}
    return "department = :unit", {"unit": unit}


def registered_entities(conn: Connection, as_of: str) -> list[tuple[str, dict]]:
    """(entity id, facts) of every entity registered in the projection, by entity id."""
    return [(row.entity_id, dict(row.facts)) for row in conn.execute(sa.text(
        f"SELECT entity_id, facts FROM {quoted_schema(as_of)}.rp_entities ORDER BY entity_id"))]


def ledger_units_submitted(conn: Connection, as_of: str) -> set[str]:
    return {row.unit for row in conn.execute(sa.text(f"SELECT unit FROM {quoted_schema(as_of)}.rp_ledger_submissions"))}


def first_ledger_submissions(conn: Connection, live: str) -> dict[str, sa.Row]:
    """Ledger unit -> (first_submitted_at, event_id) of its first submission."""
    return {row.unit: row for row in conn.execute(sa.text(
        f"SELECT unit, first_submitted_at, event_id FROM {quoted_schema(live)}.rp_ledger_submissions"))}


def missed_entities(conn: Connection, as_of: str, milestone: str, unit: str) -> list[str]:
    """The unit's baseline entities the milestone (a key of MISSED) misses, by entity id."""
    where, params = _of_unit(unit)
    return [row.entity_id for row in conn.execute(sa.text(
        f"SELECT entity_id FROM {quoted_schema(as_of)}.rp_entity_status WHERE in_baseline AND ({MISSED[milestone]})"
        f" AND {where} ORDER BY entity_id"), params)]


def coverage_spans(conn: Connection, live: str, entity_ids: list[str]) -> list[sa.Row]:
    """entity_id, covered_from, formed_event_id, covered_until, ended_event_id of the entities' spans."""
    return list(conn.execute(sa.text(
        f"SELECT entity_id, covered_from, formed_event_id, covered_until, ended_event_id"
        f" FROM {quoted_schema(live)}.rp_coverage_spans WHERE entity_id = ANY(:ids)"
        " ORDER BY covered_from, organization_id"), {"ids": entity_ids}))


def baseline_covered(conn: Connection, as_of: str, unit: str) -> tuple[int, int]:
    """(organization-covered, baseline) counts of the unit's entities."""
    where, params = _of_unit(unit)
    row = conn.execute(sa.text(
        f"SELECT count(*) AS baseline, count(*) FILTER (WHERE organization_covered) AS covered"
        f" FROM {quoted_schema(as_of)}.rp_entity_status WHERE in_baseline AND {where}"), params).one()
    return int(row.covered), int(row.baseline)


def bulletin_reports(conn: Connection, live: str) -> Iterator[tuple[dict, str]]:
    """(a report entry of a bulletin's data file, the bulletin's event id), bulletins by cutoff date."""
    for bulletin in conn.execute(sa.text(f"SELECT cutoff_date, figures_json, event_id FROM {quoted_schema(live)}"
                                         ".bulletins ORDER BY cutoff_date")):
        for report in json.loads(bytes(bulletin.figures_json))["reports"]:
            yield report, str(bulletin.event_id)


def failed_checks(conn: Connection, live: str, unit: str) -> list[sa.Row]:
    """The failed checks naming an entity the unit answers for, by date."""
    where, params = _of_unit(unit)
    s = quoted_schema(live)
    return list(conn.execute(sa.text(
        f"SELECT c.* FROM {s}.rp_failed_checks c WHERE EXISTS (SELECT 1 FROM {s}.rp_entity_status"
        f" WHERE entity_id = ANY(c.entity_ids) AND {where}) ORDER BY checked_on, check_id"), params))


def confirmations(conn: Connection, live: str, unit: str) -> dict[tuple[str, str], sa.Row]:
    """(entry_kind, subject) -> (payload, event_id) of the city's confirmations for the unit."""
    return {(row.entry_kind, row.subject): row for row in conn.execute(sa.text(
        f"SELECT entry_kind, subject, payload, event_id FROM {quoted_schema(live)}.rp_accountability WHERE unit = :u"),
        {"u": unit})}
