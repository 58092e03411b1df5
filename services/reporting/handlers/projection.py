"""The projection's batch handler: events in, projection rows out, inside the caller's transaction.

Whichever runner drives it (the faust processor, the plain ProjectionConsumer, or
replay) passes batches to ``platform_core.projection_consumer.ProjectionApplier``
with this handler, so offsets and rows commit together.
"""

import json
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.envelope import EventEnvelope, utc_timestamp
from reporting.adapters.projection_store import ProjectionStore

ENTITY_KEYS = ("entity_id", "to_entity_id", "from_entity_id", "duplicate_of")
ENTITY_LIST_KEYS = ("entity_ids", "remaining_entity_ids")


def batch_keys(envelopes: Iterable[EventEnvelope]) -> tuple[set[str], set[str], set[str]]:
    """The entities, members and organizations a batch's events name."""
    entities, members, organizations = set(), set(), set()
    for envelope in envelopes:
        p = envelope.payload
        entities.update(p[k] for k in ENTITY_KEYS if isinstance(p.get(k), str))
        for k in ENTITY_LIST_KEYS:
            entities.update(p.get(k) or ())
        if isinstance(p.get("member_id"), str):
            members.add(p["member_id"])
        organizations.update(p[k] for k in ("organization_id", "new_organization_id") if isinstance(p.get(k), str))
    return entities, members, organizations


class Window:
    """Which events count: recorded_at in (since, until]; None = unbounded (as-of figures, R7)."""

    def __init__(self, until: datetime | None = None, since: datetime | None = None):
        self.until, self.since = until, since

    def admits(self, envelope: EventEnvelope) -> bool:
        if self.until is not None and envelope.recorded_at > self.until:
            return False
        return self.since is None or envelope.recorded_at > self.since


def projection_handler(schema: str, window: Window | None = None):
    """The batch handler: raw state, the touched entities' statuses and reporting's own rows."""
    store = ProjectionStore(schema)
    window = window or Window()
    s = store.s

    def handle(conn: Connection, envelopes: list[EventEnvelope]) -> None:
        envelopes = [e for e in envelopes if window.admits(e)]
        if not envelopes:
            return
        lists = {f"{e.payload['department']}:{e.payload.get('territory') or ''}" for e in envelopes
                 if e.type == "VerificationListImported"}
        state = store.load(conn, *batch_keys(envelopes), federation_lists=lists)
        own = new_own()
        for envelope in envelopes:
            state.apply(envelope.type, envelope.payload, str(envelope.event_id), envelope.recorded_at)
            collect_own(envelope, own)
        store.save(conn, state)
        store.refresh_statuses(conn, state.touched)
        write_own(conn, s, own)
        conn.execute(sa.text(f"UPDATE {s}.rp_meta SET events_applied = events_applied + :n,"
                             " latest_recorded_at = GREATEST(latest_recorded_at, :latest)"),
                     {"n": len(envelopes), "latest": max(e.recorded_at for e in envelopes)})

    return handle


def new_own() -> dict[str, list[dict]]:
    return {"reports": [], "responsibility": [], "bulletins": [], "accountability": [], "ledgers": []}


OWN_TYPES = frozenset({"LedgerSubmitted", "ReportSubmitted", "ResponsibilityReportSubmitted", "BulletinPublished",
                       "AccountabilityRecorded"})


def collect_own(envelope: EventEnvelope, own: dict[str, list[dict]]) -> None:
    if envelope.type not in OWN_TYPES:
        return  # most events: nothing of reporting's own tables (checked first: replays call this a million times)
    p, event_id = envelope.payload, str(envelope.event_id)
    if envelope.type == "LedgerSubmitted":
        own["ledgers"].append({"unit": p["unit"], "district_code": p.get("district_code"),
                               "unit_kind": p["unit_kind"], "at": utc_timestamp(envelope.recorded_at),
                               "event_id": event_id})
    elif envelope.type == "ReportSubmitted":
        own["reports"].append({"report_id": p["report_id"], "unit": p["unit"], "deadline": p["deadline"],
                               "submitted_at": utc_timestamp(envelope.recorded_at),
                               "figures": json.dumps(p["figures"], sort_keys=True), "event_id": event_id,
                               "actor": envelope.actor.department})
    elif envelope.type == "ResponsibilityReportSubmitted":
        own["responsibility"].append({"report_id": p["report_id"], "department": p["department"], "due": p["due"],
                                      "submitted_at": utc_timestamp(envelope.recorded_at), "event_id": event_id,
                                      "actor": envelope.actor.department})
    elif envelope.type == "BulletinPublished":
        own["bulletins"].append({"bulletin_id": p["bulletin_id"], "cutoff_date": p["cutoff_date"],
                                 "published_at": utc_timestamp(envelope.recorded_at),
                                 "figures_sha256": p["figures_sha256"],
                                 "checkpoint_tree_size": p["checkpoint_tree_size"], "event_id": event_id})
    elif envelope.type == "AccountabilityRecorded":
        own["accountability"].append({"entry_id": p["entry_id"], "unit": p["unit"], "entry_kind": p["entry_kind"],
                                      "subject": p["subject"], "recorded_at": utc_timestamp(envelope.recorded_at),
                                      "payload": json.dumps(p, sort_keys=True, ensure_ascii=False),
                                      "event_id": event_id})


def write_own(conn: Connection, s: str, own: dict[str, list[dict]]) -> None:
    if own["ledgers"]:
        conn.execute(sa.text(
            f"INSERT INTO {s}.rp_ledger_submissions (unit, district_code, unit_kind, first_submitted_at, event_id)"
            " VALUES (:unit, :district_code, :unit_kind, :at, :event_id) ON CONFLICT (unit) DO UPDATE SET"
            " first_submitted_at = LEAST(rp_ledger_submissions.first_submitted_at, EXCLUDED.first_submitted_at),"
            " event_id = CASE WHEN EXCLUDED.first_submitted_at < rp_ledger_submissions.first_submitted_at"
            " THEN EXCLUDED.event_id ELSE rp_ledger_submissions.event_id END"), own["ledgers"])
    if own["reports"]:
        conn.execute(sa.text(
            f"INSERT INTO {s}.rp_reports (report_id, unit, deadline, submitted_at, figures, event_id, actor)"
            " VALUES (:report_id, :unit, :deadline, :submitted_at, CAST(:figures AS jsonb), :event_id, :actor)"
            " ON CONFLICT (report_id) DO NOTHING"), own["reports"])
    if own["responsibility"]:
        conn.execute(sa.text(
            f"INSERT INTO {s}.rp_responsibility_reports (report_id, department, due, submitted_at, event_id, actor)"
            " VALUES (:report_id, :department, :due, :submitted_at, :event_id, :actor)"
            " ON CONFLICT (report_id) DO NOTHING"), own["responsibility"])
    if own["bulletins"]:
        conn.execute(sa.text(
            f"INSERT INTO {s}.rp_bulletins (bulletin_id, cutoff_date, published_at, figures_sha256,"
            " checkpoint_tree_size, event_id) VALUES (:bulletin_id, :cutoff_date, :published_at, :figures_sha256,"
            " :checkpoint_tree_size, :event_id) ON CONFLICT (bulletin_id) DO NOTHING"), own["bulletins"])
    if own["accountability"]:
        conn.execute(sa.text(
            f"INSERT INTO {s}.rp_accountability (entry_id, unit, entry_kind, subject, recorded_at, payload, event_id)"
            " VALUES (:entry_id, :unit, :entry_kind, :subject, :recorded_at, CAST(:payload AS jsonb), :event_id)"
            " ON CONFLICT (entry_id) DO NOTHING"), own["accountability"])
