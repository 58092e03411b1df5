"""Related city departments' responsibility reports (R11, the plan's 三(四): "市直有关部门11月底报送专项工作责任落实情况").

One report per department for the calendar milestone ``department_responsibility_report``
(2016-11-30 by default), judged like the semi-monthly reports: on time by the end of the
due day in city time, late after it, missing once the grace (GRACE_DAYS) has passed.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from platform_core import clock
from platform_core.auth import Forbidden, Principal
from platform_core.contracts.reporting import RESPONSIBILITY_DEPARTMENTS
from platform_core.db import quoted_schema
from platform_core.errors import AlreadyExists, NotFound, RuleViolation
from platform_core.event_store import request_fingerprint
from platform_core.events import NewEvent
from platform_core.reference import load_calendar
from platform_core.service import ServiceContext
from reporting.domain.reports import end_of_day, timeliness

MILESTONE = "department_responsibility_report"
UNIT_PREFIX = "department-"


def responsibility_units() -> list[str]:
    """The accountability units of the related city departments: ``department-<kind>``."""
    return [f"{UNIT_PREFIX}{kind}" for kind in RESPONSIBILITY_DEPARTMENTS]


def due_date() -> date:
    return load_calendar().milestone(MILESTONE).due


@dataclass(frozen=True)
class Submitted:
    report_id: str
    department: str
    due: date
    status: str
    event_id: str
    replayed: bool


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


def submit(context: ServiceContext, principal: Principal, summary: str, figures: dict[str, int] | None = None,
           department: str | None = None, note: str | None = None, idempotency_key: str | None = None,
           now: datetime | None = None) -> Submitted:
    principal.require("report.responsibility", target=department)
    department = department_of(principal, department)
    due = due_date()
    stream = f"responsibility-{department}-{due.isoformat()}"
    payload = {"report_id": f"responsibility-{uuid.uuid4()}", "department": department, "due": due.isoformat(),
               "summary": summary, "figures": dict(sorted((figures or {}).items())),
               **({"note": note} if note else {})}
    fingerprint = request_fingerprint(stream, {k: v for k, v in payload.items() if k != "report_id"})
    with context.engine.begin() as conn:
        if idempotency_key is not None:
            earlier = context.store.earlier_result(conn, idempotency_key, fingerprint)
            if earlier is not None:
                return _submitted(earlier.events[0], now, replayed=True)
        if context.store.stream_version(conn, stream) > 0:
            raise AlreadyExists(f"{department} already reported its responsibilities for {due}",
                                field="department", rule="R11")
        result = context.store.append_in(conn, stream, 0, [NewEvent("ResponsibilityReportSubmitted", payload)],
                                         principal.actor(), idempotency_key, fingerprint)
    context.store.count_committed(result)
    return _submitted(result.events[0], now)


def _submitted(envelope, now, replayed: bool = False) -> Submitted:
    p = envelope.payload
    due = date.fromisoformat(p["due"])
    return Submitted(p["report_id"], p["department"], due,
                     timeliness(due, envelope.recorded_at, now or clock.now()),
                     str(envelope.event_id), replayed)


def statuses(context: ServiceContext, now: datetime | None = None) -> list[dict]:
    """Every related department's responsibility report from the live projection."""
    now, due = now or clock.now(), due_date()
    with context.engine.connect() as conn:
        rows = {row.department: row for row in conn.execute(sa.text(
            f"SELECT DISTINCT ON (department) department, report_id, submitted_at, event_id"
            f" FROM {quoted_schema(context.name)}.rp_responsibility_reports WHERE due = :d"
            " ORDER BY department, submitted_at"), {"d": due})}
    out = []
    for department in RESPONSIBILITY_DEPARTMENTS:
        row = rows.get(department)
        out.append({"department": department, "unit": f"{UNIT_PREFIX}{department}", "due": due.isoformat(),
                    "status": timeliness(due, row.submitted_at if row else None, now),
                    "report_id": row.report_id if row else None,
                    "submitted_at": row.submitted_at.isoformat() if row else None,
                    "event_id": row.event_id if row else None, "due_at": end_of_day(due).isoformat()})
    return out


def first_report(conn, schema: str, department: str, due: date):
    """(submitted_at, event_id) of the department's first report for the due date, or None."""
    if department not in RESPONSIBILITY_DEPARTMENTS:
        raise NotFound(f"unknown department {department!r}", field="unit")
    return conn.execute(sa.text(
        f"SELECT submitted_at, event_id FROM {quoted_schema(schema)}.rp_responsibility_reports"
        " WHERE department = :d AND due = :due ORDER BY submitted_at LIMIT 1"),
        {"d": department, "due": due}).first()
