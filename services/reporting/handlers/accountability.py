"""The accountability trail (问责) per reporting unit, and the city's confirmations.

Derived entries (docs/rules.md, R7, R9-R12): missed deadlines, each judged on the projection as of the
end of its day: the survey (8-26) per ledger unit, formation (11-20: R9's overdue entities), the required
set (11-30: R2 entities without an organization) and the year-end 80% coverage target; the district's setup
milestones (R10b) missing or late on the business date (``milestone_missing``, ``milestone_late``); late and missing
reports (R11), discrepancies found by published bulletins, failed checks (R12). Each names its dates and
the events and entities behind it. The city organization department confirms an entry
(AccountabilityRecorded), which then shows as confirmed.
"""

import uuid
from datetime import date, datetime

from sqlalchemy.engine import Connection

from platform_core.auth import Principal
from platform_core.errors import AlreadyExists, NotFound
from platform_core.events import Command, Decision, NewEvent
from platform_core.event_store import request_fingerprint
from platform_core.reference import load_calendar
from platform_core.reference.city_time import local_date
from platform_core.rules.ledgers import ledgers_holding, reporting_unit_of, survey_misses
from platform_core.service import ServiceContext
from reporting.adapters import accountability_queries, queries
from reporting.domain.rates import TARGET_COVERAGE, Rate
from reporting.domain.reports import CHECK_KINDS_ZH, FIGURE_NAMES_ZH, city_date, end_of_day, reporting_units, timeliness
from reporting.handlers import bulletins, milestones as setup_milestones, reports, signal_marks
from reporting.handlers.bulletin_figures import district_names, unit_name
from reporting.handlers.business_time import business_now

EVENT_IDS_LISTED = 1000  # AccountabilityRecorded.event_ids holds at most this many


def known_units() -> list[str]:
    return reporting_units(list(district_names())) + reports.responsibility_units()


def trail(context: ServiceContext, unit: str, now: datetime | None = None,
          topics: tuple[str, ...] | None = None) -> list[dict]:
    """The unit's derived entries and the city's confirmations. Each milestone is judged once it has
    passed, on the projection as of the end of its due day in city time (a replay to that moment, cached
    like a bulletin's; ``topics``: the event topics it replays, the platform's by default)."""
    if unit not in known_units():
        raise NotFound(f"unknown reporting unit {unit!r}", field="unit")
    now = now or business_now(context)
    calendar = load_calendar()
    if unit.startswith(reports.DEPARTMENT_UNIT_PREFIX):
        with context.engine.connect() as conn:
            return _with_confirmations(conn, context.schema, unit,
                                       _responsibility_entries(conn, context.schema, unit, now))
    entries: list[dict] = []
    milestones = {key: calendar.milestone(key) for key in ("survey", "formation", "required_set", "year_end_coverage")}
    as_of = {key: bulletins.as_of(context, end_of_day(m.due), topics) for key, m in milestones.items()
             if now > end_of_day(m.due)}
    with context.engine.connect() as conn:
        if "survey" in as_of:
            entries += _survey_entries(conn, context.schema, as_of["survey"], unit, milestones["survey"])
        if "formation" in as_of:
            entries += _uncovered_entry(conn, context.schema, as_of["formation"], unit, milestones["formation"],
                                        "应建党组织未建、或既未建党组织也无工作覆盖的两新组织")
        if "required_set" in as_of:
            entries += _uncovered_entry(conn, context.schema, as_of["required_set"], unit, milestones["required_set"],
                                        "应建党组织（R2）而未建的两新组织")
        if "year_end_coverage" in as_of:
            entries += _coverage_target_entry(conn, as_of["year_end_coverage"], unit, milestones["year_end_coverage"])
        if unit.startswith("district-"):  # R10b: the district's and its zones' setup milestones, missing or late
            entries += [_entry(e["entry_kind"], e["subject"], e["occurred_on"], e["finding"], e["event_ids"])
                        for e in setup_milestones.accountability_entries(context, unit.removeprefix("district-"),
                                                                          local_date(now))]
        first_reports = queries.first_reports_of(conn, context.schema, unit)
        for deadline in calendar.report_deadlines():
            row = first_reports.get(deadline)
            status = timeliness(deadline, row.submitted_at if row else None, now)
            if status == "late":
                entries.append(_entry("report_late", deadline.isoformat(), city_date(row.submitted_at),
                                      f"R11：{deadline}的半月报送逾期（{city_date(row.submitted_at)}报送）",
                                      [row.event_id]))
            elif status == "missing":
                entries.append(_entry("report_missing", deadline.isoformat(), deadline,
                                      f"R11：{deadline}的半月报送未报送", []))
        for report, bulletin_event_id in accountability_queries.bulletin_reports(conn, context.schema):
            if report["unit"] == unit and report["discrepancies"]:
                entries.append(_entry(
                    "discrepancy", report["deadline"], date.fromisoformat(report["deadline"]),
                    "R11：报送数据与核实数据不符：" + "；".join(
                        f"{FIGURE_NAMES_ZH.get(d['figure'], d['figure'])} 报{d['reported']} 核{d['derived']}" for d in report["discrepancies"]),
                    [report["event_id"], bulletin_event_id]))
        for check in accountability_queries.failed_checks(conn, context.schema, unit):
            entries.append(_entry("check_failed", check.check_id, check.checked_on,
                                  f"R12：{CHECK_KINDS_ZH.get(check.check_kind, check.check_kind)}未通过：" + "；".join(check.findings), [check.event_id],
                                  entity_ids=list(check.entity_ids)))
        return _with_confirmations(conn, context.schema, unit, entries)


def _survey_entries(conn, live: str, as_of: str, unit: str, survey) -> list[dict]:
    """R10 survey (8-26), per ledger unit: each of the unit's ledger units whose entities (registered by the
    deadline) no ledger submitted by the deadline lists; or, when the unit had registered nothing by then,
    the unit itself."""
    registered = accountability_queries.registered_entities(conn, as_of)
    mine = [(e, f) for e, f in registered if reporting_unit_of(f) == unit]
    submitted = accountability_queries.ledger_units_submitted(conn, as_of)
    later = accountability_queries.first_ledger_submissions(conn, live)
    heading = f"R10：{survey.name}（{survey.due}）"
    if not mine:
        return [_entry("deadline_missed", f"{survey.key}:{unit}", survey.due, f"{heading}截止时未登记任何两新组织、未报送台帐",
                       [])]
    entries = []
    for ledger, entity_ids in survey_misses(mine, submitted).items():
        holding = ledgers_holding(dict(mine)[entity_ids[0]])
        first = min((later[u] for u in holding if u in later), key=lambda r: r.first_submitted_at, default=None)
        when = f"，{city_date(first.first_submitted_at)}才报送" if first is not None else "，至今未报送"
        entries.append(_entry("deadline_missed", f"{survey.key}:{ledger}", survey.due,
                              f"{heading}：台帐（{unit_name(ledger)}）截止时未报送（{len(entity_ids)}个两新组织未列入任何已报送台帐）{when}",
                              [first.event_id] if first is not None else [], entity_ids=entity_ids))
    return entries


def _uncovered_entry(conn, live: str, as_of: str, unit: str, milestone, what: str) -> list[dict]:
    """The unit's baseline entities the milestone misses on the projection as of its end (city time), with
    the events that covered them later or uncovered them before (the live coverage spans)."""
    cutoff = end_of_day(milestone.due)
    missed = accountability_queries.missed_entities(conn, as_of, milestone.key, unit)
    if not missed:
        return []
    events, formed_later, lost = [], set(), set()
    for row in accountability_queries.coverage_spans(conn, live, missed):
        if row.covered_from > cutoff:
            formed_later.add(row.entity_id)
            events.append(row.formed_event_id)
        if row.ended_event_id is not None and row.covered_until <= cutoff:
            lost.add(row.entity_id)
            events.append(row.ended_event_id)
    finding = (f"R10：{milestone.name}（{milestone.due}）截止时（{milestone.due} 24:00 北京时间），{what}"
               f"有{len(missed)}个")
    if formed_later:
        finding += f"，其中{len(formed_later)}个截止后才建"
    if lost:
        finding += f"，{len(lost)}个截止前党组织已撤销或调整"
    return [_entry("deadline_missed", milestone.key, milestone.due, finding,
                   list(dict.fromkeys(events))[:EVENT_IDS_LISTED], entity_ids=missed)]


def _coverage_target_entry(conn, as_of: str, unit: str, milestone) -> list[dict]:
    """一: organization coverage of at least 80% of the unit's baseline by the end of the year."""
    rate = Rate(*accountability_queries.baseline_covered(conn, as_of, unit))
    if rate.percent is None or rate.percent >= TARGET_COVERAGE:
        return []
    return [_entry("deadline_missed", milestone.key, milestone.due,
                   f"R7：{milestone.name}（{milestone.due}）：组织覆盖率{rate.text()}（{rate.numerator}/"
                   f"{rate.denominator}），低于{TARGET_COVERAGE}%", [])]


def _responsibility_entries(conn, schema: str, unit: str, now: datetime) -> list[dict]:
    """R11: a related city department's responsibility report, late or missing."""
    department = unit.removeprefix(reports.DEPARTMENT_UNIT_PREFIX)
    milestone = load_calendar().milestone(reports.RESPONSIBILITY_MILESTONE)
    row = queries.first_responsibility_reports(conn, schema, milestone.due).get(department)
    status = timeliness(milestone.due, row.submitted_at if row else None, now)
    if status == "late":
        return [_entry("report_late", milestone.key, city_date(row.submitted_at),
                       f"R11：{milestone.name}（{milestone.due}）逾期（{city_date(row.submitted_at)}报送）",
                       [row.event_id])]
    if status == "missing":
        return [_entry("report_missing", milestone.key, milestone.due,
                       f"R11：{milestone.name}（{milestone.due}）未报送", [])]
    return []


def _with_confirmations(conn, live: str, unit: str, entries: list[dict]) -> list[dict]:
    confirmed = accountability_queries.confirmations(conn, live, unit)
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
           idempotency_key: str | None = None, signal_ids: list[str] = ()) -> dict:
    """``signal_ids``: the detectors' signals the entry cites (docs/detectors.md); each must be one GET /signals
    shows."""
    principal.require("accountability.record", target=unit)
    if unit not in known_units():
        raise NotFound(f"unknown reporting unit {unit!r}", field="unit")
    signal_marks.require_known(context, list(signal_ids))
    stream = f"accountability-{unit}"
    payload = {"entry_id": f"accountability-{uuid.uuid4()}", "unit": unit, "entry_kind": entry_kind,
               "subject": subject, "occurred_on": occurred_on.isoformat(), "event_ids": event_ids,
               "finding": finding, "responsible": responsible, "signal_ids": list(signal_ids)}
    fingerprint = request_fingerprint(stream, {k: v for k, v in payload.items() if k != "entry_id"})

    def decide(conn: Connection) -> Decision:
        recorded = context.store.read_stream(stream, conn)
        for envelope in recorded:
            if (envelope.payload["entry_kind"], envelope.payload["subject"]) == (entry_kind, subject):
                raise AlreadyExists(f"{unit}: {entry_kind} {subject} was recorded already "
                                    f"({envelope.payload['entry_id']})", field="subject")
        return Decision([NewEvent("AccountabilityRecorded", payload)], stream_id=stream,
                        expected_version=len(recorded))

    executed = context.store.execute(Command(principal.actor(), fingerprint, idempotency_key), decide)
    first = executed.result.events[0]
    return {**first.payload, "event_id": str(first.event_id), "replayed": executed.replayed}
