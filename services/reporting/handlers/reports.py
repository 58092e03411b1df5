"""Semi-monthly reports (R11): a reporting unit submits its figures for a deadline."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from platform_core import clock
from platform_core.auth import Forbidden, Principal
from platform_core.contracts.reporting import FIGURE_NAMES
from platform_core.db import quoted_schema
from platform_core.errors import AlreadyExists, RuleViolation, SchemaViolation
from platform_core.events import NewEvent
from platform_core.reference import load_calendar
from platform_core.service import ServiceContext
from reporting.domain.reports import CITY_ORGANS, CIVIL_AFFAIRS, end_of_day, reporting_units, timeliness
from reporting.handlers.bulletin_figures import district_names


@dataclass(frozen=True)
class Submitted:
    report_id: str
    unit: str
    deadline: date
    status: str
    event_id: str
    replayed: bool


def unit_of(principal: Principal, requested: str | None) -> str:
    """The unit a department reports for: its district, the city organs' committee or civil affairs."""
    own = {"city_organs_committee": CITY_ORGANS, "civil_affairs": CIVIL_AFFAIRS}.get(principal.kind)
    if principal.kind == "district_org" and principal.territory:
        own = f"district-{principal.territory}"
    if principal.kind == "city_org":
        if requested is None:
            raise SchemaViolation("the city organization department must name the unit it reports for",
                                  field="unit")
        known = reporting_units(list(district_names()))
        if requested not in known:
            raise RuleViolation(f"{requested!r} is not a reporting unit; units are district-<district code>, "
                                f"{CITY_ORGANS} and {CIVIL_AFFAIRS}", field="unit", rule="R11")
        return requested
    if own is None:
        raise Forbidden(f"{principal.department} is not a reporting unit (R11)", principal=principal,
                        permission="report.submit", target=requested)
    if requested is not None and requested != own:
        raise Forbidden(f"{principal.department} reports for {own}, not {requested}", principal=principal,
                        permission="report.submit", target=requested)
    return own


def submit(context: ServiceContext, principal: Principal, deadline: date, figures: dict[str, int],
           unit: str | None = None, note: str | None = None, idempotency_key: str | None = None,
           now: datetime | None = None) -> Submitted:
    principal.require("report.submit", target=unit)
    unit = unit_of(principal, unit)
    if deadline not in load_calendar().report_deadlines():
        raise RuleViolation(f"{deadline} is not a report deadline; units report by the 10th and the 25th "
                            "within the campaign", field="deadline", rule="R11")
    unknown = sorted(set(figures) - set(FIGURE_NAMES))
    if unknown:
        raise SchemaViolation(f"unknown figures {', '.join(unknown)}; known: {', '.join(FIGURE_NAMES)}",
                              field="figures")
    stream = f"report-{unit}-{deadline.isoformat()}"
    payload = {"report_id": f"report-{uuid.uuid4()}", "unit": unit, "deadline": deadline.isoformat(),
               "figures": dict(sorted(figures.items())), **({"note": note} if note else {})}
    with context.engine.begin() as conn:
        if idempotency_key is not None:
            earlier = context.store.earlier_result(conn, idempotency_key, _fingerprint(stream, payload))
            if earlier is not None:
                return _submitted(earlier.events[0], now, replayed=True)
        if context.store.stream_version(conn, stream) > 0:
            raise AlreadyExists(f"{unit} already reported for {deadline}", field="deadline", rule="R11")
        result = context.store.append_in(conn, stream, 0, [NewEvent("ReportSubmitted", payload)],
                                         principal.actor(), idempotency_key, _fingerprint(stream, payload))
    context.store.count_committed(result)
    return _submitted(result.events[0], now)


def _fingerprint(stream: str, payload: dict) -> str:
    from platform_core.event_store import request_fingerprint
    return request_fingerprint(stream, {k: v for k, v in payload.items() if k != "report_id"})


def _submitted(envelope, now, replayed: bool = False) -> Submitted:
    p = envelope.payload
    deadline = date.fromisoformat(p["deadline"])
    return Submitted(p["report_id"], p["unit"], deadline,
                     timeliness(deadline, envelope.recorded_at, now or clock.now()),
                     str(envelope.event_id), replayed)


def statuses(context: ServiceContext, deadline: date, units: list[str], now: datetime | None = None) -> list[dict]:
    """Each unit's report for a deadline from the live projection: on time, late, missing or pending."""
    now = now or clock.now()
    with context.engine.connect() as conn:
        rows = {row.unit: row for row in conn.execute(sa.text(
            f"SELECT DISTINCT ON (unit) unit, report_id, submitted_at, figures, event_id"
            f" FROM {quoted_schema(context.name)}.rp_reports WHERE deadline = :d ORDER BY unit, submitted_at"),
            {"d": deadline})}
    return [{"unit": unit, "deadline": deadline.isoformat(),
             "status": timeliness(deadline, rows[unit].submitted_at if unit in rows else None, now),
             "report_id": rows[unit].report_id if unit in rows else None,
             "submitted_at": rows[unit].submitted_at.isoformat() if unit in rows else None,
             "figures": rows[unit].figures if unit in rows else None,
             "due_at": end_of_day(deadline).isoformat()} for unit in units]
