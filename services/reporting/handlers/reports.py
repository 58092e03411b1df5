"""Reports (R11), one workflow for both kinds the plan asks for:

- semi-monthly reports: a reporting unit (a district's organization department, the city organs' committee,
  civil affairs) submits its figures for a deadline, the 10th and the 25th;
- responsibility reports (the plan's 三(四): "市直有关部门11月底报送专项工作责任落实情况"): each related city
  department reports once, for the calendar milestone ``department_responsibility_report`` (2016-11-30 by
  default).

Either is one event on a stream of its own per reporter and due date, refused when the stream already holds
one; each is judged on time by the end of its due day in city time, late after it, missing once the grace
(GRACE_DAYS) has passed.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.engine import Connection

from platform_core import clock
from platform_core.auth import Forbidden, Principal
from platform_core.contracts.reporting import FIGURE_NAMES, RESPONSIBILITY_DEPARTMENTS
from platform_core.envelope import EventEnvelope
from platform_core.errors import AlreadyExists, RuleViolation, SchemaViolation
from platform_core.event_store import request_fingerprint
from platform_core.events import Command, Decision, NewEvent
from platform_core.reference import load_calendar
from platform_core.service import ServiceContext
from reporting.adapters import queries
from reporting.domain.reports import CITY_ORGANS, CIVIL_AFFAIRS, end_of_day, reporting_units, timeliness
from reporting.handlers.bulletin_figures import district_names

RESPONSIBILITY_MILESTONE = "department_responsibility_report"
DEPARTMENT_UNIT_PREFIX = "department-"


@dataclass(frozen=True)
class Submitted:
    report_id: str
    reporter: str  # the reporting unit, or the related department
    due: date
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


def department_of(principal: Principal, requested: str | None) -> str:
    """A related department reports for itself; the city organization department names one."""
    if principal.kind == "city_org":
        if requested is None:
            raise RuleViolation("the city organization department must name the department it reports for",
                                field="department", rule="R11")
        department = requested
    else:
        if requested is not None and requested != principal.kind:
            raise Forbidden(f"{principal.department} reports for {principal.kind}, not {requested}",
                            principal=principal, permission="report.responsibility", target=requested)
        department = principal.kind
    if department not in RESPONSIBILITY_DEPARTMENTS:
        raise RuleViolation(f"{department!r} is not a related city department (R11); one of "
                            f"{', '.join(RESPONSIBILITY_DEPARTMENTS)}", field="department", rule="R11")
    return department


def responsibility_units() -> list[str]:
    """The accountability units of the related city departments: ``department-<kind>``."""
    return [f"{DEPARTMENT_UNIT_PREFIX}{kind}" for kind in RESPONSIBILITY_DEPARTMENTS]


def responsibility_due() -> date:
    return load_calendar().milestone(RESPONSIBILITY_MILESTONE).due


def submit(context: ServiceContext, principal: Principal, deadline: date, figures: dict[str, int],
           unit: str | None = None, note: str | None = None, idempotency_key: str | None = None,
           now: datetime | None = None) -> Submitted:
    """A semi-monthly report."""
    principal.require("report.submit", target=unit)
    unit = unit_of(principal, unit)
    if deadline not in load_calendar().report_deadlines():
        raise RuleViolation(f"{deadline} is not a report deadline; units report by the 10th and the 25th "
                            "within the campaign", field="deadline", rule="R11")
    unknown = sorted(set(figures) - set(FIGURE_NAMES))
    if unknown:
        raise SchemaViolation(f"unknown figures {', '.join(unknown)}; known: {', '.join(FIGURE_NAMES)}",
                              field="figures")
    payload = {"report_id": f"report-{uuid.uuid4()}", "unit": unit, "deadline": deadline.isoformat(),
               "figures": dict(sorted(figures.items())), **({"note": note} if note else {})}
    event, replayed = _report_once(
        context, principal, f"report-{unit}-{deadline.isoformat()}", "ReportSubmitted", payload, idempotency_key,
        AlreadyExists(f"{unit} already reported for {deadline}", field="deadline", rule="R11"))
    return _submitted(event, "unit", "deadline", now, replayed)


def submit_responsibility(context: ServiceContext, principal: Principal, summary: str,
                          figures: dict[str, int] | None = None, department: str | None = None,
                          note: str | None = None, idempotency_key: str | None = None,
                          now: datetime | None = None) -> Submitted:
    """A related city department's responsibility report."""
    principal.require("report.responsibility", target=department)
    department = department_of(principal, department)
    due = responsibility_due()
    payload = {"report_id": f"responsibility-{uuid.uuid4()}", "department": department, "due": due.isoformat(),
               "summary": summary, "figures": dict(sorted((figures or {}).items())),
               **({"note": note} if note else {})}
    event, replayed = _report_once(
        context, principal, f"responsibility-{department}-{due.isoformat()}", "ResponsibilityReportSubmitted",
        payload, idempotency_key,
        AlreadyExists(f"{department} already reported its responsibilities for {due}", field="department",
                      rule="R11"))
    return _submitted(event, "department", "due", now, replayed)


def _report_once(context: ServiceContext, principal: Principal, stream: str, event_type: str, payload: dict,
                 idempotency_key: str | None, refusal: AlreadyExists) -> tuple[EventEnvelope, bool]:
    """Append the report as the stream's first event, or answer a retry with the first result; ``refusal``
    when the reporter has reported for that due date already. The fingerprint leaves out the new report id."""
    fingerprint = request_fingerprint(stream, {k: v for k, v in payload.items() if k != "report_id"})

    def decide(conn: Connection) -> Decision:
        if context.store.stream_version(conn, stream) > 0:
            raise refusal
        return Decision([NewEvent(event_type, payload)], stream_id=stream, expected_version=0)

    # a second report racing the first for the stream's version 1 reads as the refusal, not a generic 409
    command = Command(principal.actor(), fingerprint, idempotency_key, conflict=str(refusal),
                      conflict_field=refusal.field or "due")
    executed = context.store.execute(command, decide)
    return executed.result.events[0], executed.replayed


def _submitted(envelope: EventEnvelope, reporter: str, due: str, now: datetime | None, replayed: bool) -> Submitted:
    p = envelope.payload
    due_date = date.fromisoformat(p[due])
    status = timeliness(due_date, envelope.recorded_at, now or clock.now())
    return Submitted(p["report_id"], p[reporter], due_date, status, str(envelope.event_id), replayed)


def _judged(due: date, row, now: datetime) -> dict:
    """A reporter's first report for a due date, judged at ``now``: on time, late, missing or pending."""
    return {"status": timeliness(due, row.submitted_at if row else None, now),
            "report_id": row.report_id if row else None,
            "submitted_at": row.submitted_at.isoformat() if row else None}


def statuses(context: ServiceContext, deadline: date, units: list[str], now: datetime | None = None) -> list[dict]:
    """Each unit's semi-monthly report for a deadline, from the live projection."""
    now = now or clock.now()
    with context.engine.connect() as conn:
        rows = queries.first_reports(conn, context.schema, deadline)
    return [{"unit": unit, "deadline": deadline.isoformat(), **_judged(deadline, rows.get(unit), now),
             "figures": rows[unit].figures if unit in rows else None,
             "due_at": end_of_day(deadline).isoformat()} for unit in units]


def responsibility_statuses(context: ServiceContext, now: datetime | None = None) -> list[dict]:
    """Every related department's responsibility report, from the live projection."""
    now, due = now or clock.now(), responsibility_due()
    with context.engine.connect() as conn:
        rows = queries.first_responsibility_reports(conn, context.schema, due)
    return [{"department": department, "unit": f"{DEPARTMENT_UNIT_PREFIX}{department}", "due": due.isoformat(),
             **_judged(due, rows.get(department), now),
             "event_id": rows[department].event_id if department in rows else None,
             "due_at": end_of_day(due).isoformat()} for department in RESPONSIBILITY_DEPARTMENTS]
