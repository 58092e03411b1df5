"""The accountability trail (问责) per reporting unit, and the city's confirmations.

Derived entries: missed deadlines of R10 (survey ledgers by the survey date; R2 entities
without an organization after the formation date), late and missing reports (R11),
discrepancies found by published bulletins, failed checks (R12). Each names its dates and
the events behind it. The city organization department confirms an entry
(AccountabilityRecorded), which then shows as confirmed.
"""

import json
import uuid
from datetime import date, datetime

import sqlalchemy as sa

from platform_core import clock
from platform_core.auth import Principal
from platform_core.db import quoted_schema
from platform_core.errors import AlreadyExists, NotFound
from platform_core.event_store import NewEvent
from platform_core.reference import load_calendar
from platform_core.service import ServiceContext
from reporting.domain.reports import CITY_ORGANS, city_date, end_of_day, reporting_units, timeliness
from reporting.handlers import responsibility
from reporting.handlers.bulletin_figures import district_names

EVENT_IDS_LISTED = 1000  # AccountabilityRecorded.event_ids holds at most this many


def known_units() -> list[str]:
    return reporting_units(list(district_names())) + responsibility.responsibility_units()


def _department_condition(unit: str) -> tuple[str, dict]:
    if unit == CITY_ORGANS:
        return "department LIKE 'supervisor-%'", {}
    return "department = :unit", {"unit": unit}


def _ledger_condition(unit: str) -> tuple[str, dict]:
    if unit.startswith("district-"):
        return "district_code = :d AND unit_kind IN ('street', 'district_enterprise', 'district_social')", \
            {"d": unit.removeprefix("district-")}
    if unit == CITY_ORGANS:
        return "unit_kind IN ('city_organs', 'supervisor')", {}
    return "unit_kind = 'civil_affairs'", {}


def trail(context: ServiceContext, unit: str, now: datetime | None = None) -> list[dict]:
    if unit not in known_units():
        raise NotFound(f"unknown reporting unit {unit!r}", field="unit")
    now = now or clock.now()
    s = quoted_schema(context.name)
    calendar = load_calendar()
    entries: list[dict] = []
    with context.engine.connect() as conn:
        if unit.startswith(responsibility.UNIT_PREFIX):
            entries = _responsibility_entries(conn, context.name, unit, now)
            return _with_confirmations(conn, s, unit, entries)
        survey = calendar.milestone("survey")
        if now > end_of_day(survey.due):
            where, params = _ledger_condition(unit)
            first = conn.execute(sa.text(f"SELECT min(first_submitted_at) AS at FROM {s}.rp_ledger_submissions"
                                         f" WHERE {where}"), params).scalar()
            event = conn.execute(sa.text(f"SELECT event_id FROM {s}.rp_ledger_submissions WHERE {where}"
                                         " ORDER BY first_submitted_at LIMIT 1"), params).scalar()
            if first is None or first > end_of_day(survey.due):
                entries.append(_entry("deadline_missed", survey.key, survey.due,
                                      f"R10：{survey.name}（{survey.due}）" +
                                      ("未报送台帐" if first is None else f"，{city_date(first)}才报送台帐"),
                                      [event] if event else []))
        formation = calendar.milestone("formation")
        if now > end_of_day(formation.due):
            found = _formation_entry(conn, s, unit, formation)
            if found is not None:
                entries.append(found)
        reports = {(row.deadline, row.unit): row for row in conn.execute(sa.text(
            f"SELECT DISTINCT ON (deadline, unit) deadline, unit, submitted_at, event_id FROM {s}.rp_reports"
            " WHERE unit = :u ORDER BY deadline, unit, submitted_at"), {"u": unit})}
        for deadline in calendar.report_deadlines():
            row = reports.get((deadline, unit))
            status = timeliness(deadline, row.submitted_at if row else None, now)
            if status == "late":
                entries.append(_entry("report_late", deadline.isoformat(), city_date(row.submitted_at),
                                      f"R11：{deadline}的半月报送逾期（{city_date(row.submitted_at)}报送）",
                                      [row.event_id]))
            elif status == "missing":
                entries.append(_entry("report_missing", deadline.isoformat(), deadline,
                                      f"R11：{deadline}的半月报送未报送", []))
        for bulletin in conn.execute(sa.text(f"SELECT cutoff_date, figures_json, event_id FROM {s}.bulletins"
                                             " ORDER BY cutoff_date")):
            for report in json.loads(bytes(bulletin.figures_json))["reports"]:
                if report["unit"] == unit and report["discrepancies"]:
                    entries.append(_entry(
                        "discrepancy", report["deadline"], date.fromisoformat(report["deadline"]),
                        "R11：报送数据与核实数据不符：" + "；".join(
                            f"{d['figure']} 报{d['reported']} 核{d['derived']}" for d in report["discrepancies"]),
                        [report["event_id"], str(bulletin.event_id)]))
        where, params = _department_condition(unit)
        for check in conn.execute(sa.text(
                f"SELECT c.* FROM {s}.rp_failed_checks c WHERE EXISTS (SELECT 1 FROM {s}.rp_entity_status"
                f" WHERE entity_id = ANY(c.entity_ids) AND {where}) ORDER BY checked_on, check_id"), params):
            entries.append(_entry("check_failed", check.check_id, check.checked_on,
                                  f"R12：{check.check_kind}未通过：" + "；".join(check.findings), [check.event_id],
                                  entity_ids=list(check.entity_ids)))
        return _with_confirmations(conn, s, unit, entries)


def _formation_entry(conn, s: str, unit: str, formation) -> dict | None:
    """R10 formation (11-20): the unit's R2 baseline entities not organization-covered at the end of the
    due day in city time, judged on the coverage spans (rp_coverage_spans), not on the coverage now."""
    cutoff = end_of_day(formation.due)
    where, params = _department_condition(unit)
    uncovered = [row.entity_id for row in conn.execute(sa.text(
        f"SELECT entity_id FROM {s}.rp_entity_status st WHERE in_baseline AND required_reason IS NOT NULL"
        f" AND {where} AND NOT EXISTS (SELECT 1 FROM {s}.rp_coverage_spans sp WHERE sp.entity_id = st.entity_id"
        " AND sp.covered_from <= :cutoff AND (sp.covered_until IS NULL OR sp.covered_until > :cutoff))"
        " ORDER BY entity_id"), {**params, "cutoff": cutoff})]
    if not uncovered:
        return None
    events, formed_later, lost = [], set(), set()
    for row in conn.execute(sa.text(
            f"SELECT entity_id, covered_from, formed_event_id, covered_until, ended_event_id"
            f" FROM {s}.rp_coverage_spans WHERE entity_id = ANY(:ids) ORDER BY covered_from, organization_id"),
            {"ids": uncovered}):
        events.append(row.formed_event_id)
        if row.covered_from > cutoff:
            formed_later.add(row.entity_id)
        if row.ended_event_id is not None:
            events.append(row.ended_event_id)
            if row.covered_until <= cutoff:
                lost.add(row.entity_id)
    finding = (f"R10：{formation.name}（{formation.due}）截止时（{formation.due} 24:00 北京时间），应建党组织的两新组织"
               f"有{len(uncovered)}个未建")
    if formed_later:
        finding += f"，其中{len(formed_later)}个截止后才建"
    if lost:
        finding += f"，{len(lost)}个截止前党组织已撤销或调整"
    return _entry("deadline_missed", formation.key, formation.due, finding,
                  list(dict.fromkeys(events))[:EVENT_IDS_LISTED], entity_ids=uncovered)


def _responsibility_entries(conn, schema: str, unit: str, now: datetime) -> list[dict]:
    """R11: a related city department's responsibility report, late or missing."""
    department = unit.removeprefix(responsibility.UNIT_PREFIX)
    milestone = load_calendar().milestone(responsibility.MILESTONE)
    row = responsibility.first_report(conn, schema, department, milestone.due)
    status = timeliness(milestone.due, row.submitted_at if row else None, now)
    if status == "late":
        return [_entry("report_late", milestone.key, city_date(row.submitted_at),
                       f"R11：{milestone.name}（{milestone.due}）逾期（{city_date(row.submitted_at)}报送）",
                       [row.event_id])]
    if status == "missing":
        return [_entry("report_missing", milestone.key, milestone.due,
                       f"R11：{milestone.name}（{milestone.due}）未报送", [])]
    return []


def _with_confirmations(conn, s: str, unit: str, entries: list[dict]) -> list[dict]:
    confirmed = {(row.entry_kind, row.subject): row for row in conn.execute(sa.text(
        f"SELECT entry_kind, subject, payload, event_id FROM {s}.rp_accountability WHERE unit = :u"),
        {"u": unit})}
    for entry in entries:
        found = confirmed.pop((entry["entry_kind"], entry["subject"]), None)
        entry["confirmed"] = found is not None
        entry["confirmation"] = {"event_id": found.event_id, **found.payload} if found else None
    for (kind, subject), row in confirmed.items():  # confirmed entries the derivation no longer shows
        entries.append({**_entry(kind, subject, date.fromisoformat(row.payload["occurred_on"]),
                                 row.payload["finding"], row.payload.get("event_ids", [])),
                        "confirmed": True, "confirmation": {"event_id": row.event_id, **row.payload}})
    return sorted(entries, key=lambda e: (e["occurred_on"], e["entry_kind"], e["subject"]))


def _entry(kind: str, subject: str, occurred_on: date, finding: str, event_ids: list, entity_ids=()) -> dict:
    return {"entry_kind": kind, "subject": subject, "occurred_on": occurred_on.isoformat(), "finding": finding,
            "event_ids": [str(e) for e in event_ids], "entity_ids": list(entity_ids)}


def record(context: ServiceContext, principal: Principal, unit: str, entry_kind: str, subject: str,
           occurred_on: date, finding: str, event_ids: list[str], responsible: str | None = None,
           idempotency_key: str | None = None) -> dict:
    principal.require("accountability.record", target=unit)
    if unit not in known_units():
        raise NotFound(f"unknown reporting unit {unit!r}", field="unit")
    stream = f"accountability-{unit}"
    payload = {"entry_id": f"accountability-{uuid.uuid4()}", "unit": unit, "entry_kind": entry_kind,
               "subject": subject, "occurred_on": occurred_on.isoformat(), "event_ids": event_ids,
               "finding": finding, "responsible": responsible}
    from platform_core.event_store import request_fingerprint
    fingerprint = request_fingerprint(stream, {k: v for k, v in payload.items() if k != "entry_id"})
    with context.engine.begin() as conn:
        if idempotency_key is not None:
            earlier = context.store.earlier_result(conn, idempotency_key, fingerprint)
            if earlier is not None:
                return {**earlier.events[0].payload, "event_id": str(earlier.events[0].event_id), "replayed": True}
        for envelope in context.store.read_stream(stream, conn):
            if (envelope.payload["entry_kind"], envelope.payload["subject"]) == (entry_kind, subject):
                raise AlreadyExists(f"{unit}: {entry_kind} {subject} was recorded already "
                                    f"({envelope.payload['entry_id']})", field="subject")
        result = context.store.append_in(conn, stream, context.store.stream_version(conn, stream),
                                         [NewEvent("AccountabilityRecorded", payload)], principal.actor(),
                                         idempotency_key, fingerprint)
    context.store.count_committed(result)
    return {**payload, "event_id": str(result.events[0].event_id), "replayed": False}
