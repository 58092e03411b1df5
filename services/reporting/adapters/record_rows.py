"""Rows of reporting's record tables, collected from its own events and the ledger submissions:
``rp_ledger_submissions``, ``rp_reports``, ``rp_responsibility_reports``, ``rp_bulletins``,
``rp_accountability``, and formation's setup milestones: ``rp_gathering_zones``, ``rp_setup_milestones``. The live batch handler and the replay collect and write them alike."""

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from platform_core.envelope import EventEnvelope, utc_timestamp

RECORD_TYPES = frozenset({"LedgerSubmitted", "ReportSubmitted", "ResponsibilityReportSubmitted", "BulletinPublished",
                          "AccountabilityRecorded", "GatheringZoneDeclared", "SetupMilestoneRecorded"})
ZONE_FIELDS = ("zone_id", "district_code", "street_code", "name", "zone_kind", "declared_on")
MILESTONE_FIELDS = ("milestone", "district_code", "zone_id", "done_on", "document_number", "document_title",
                    "document_sha256", "committee_kind", "recorded_on")


class RecordRows:
    """The record rows of a batch (or of a whole replay), written once with one statement per table."""

    def __init__(self) -> None:
        self.ledgers: list[dict] = []
        self.reports: list[dict] = []
        self.responsibility: list[dict] = []
        self.bulletins: list[dict] = []
        self.accountability: list[dict] = []
        self.zones: list[dict] = []
        self.milestones: list[dict] = []

    def collect(self, envelope: EventEnvelope) -> None:
        if envelope.type not in RECORD_TYPES:
            return  # most events: no record row (checked first: replays call this a million times)
        p, event_id = envelope.payload, str(envelope.event_id)
        if envelope.type == "LedgerSubmitted":
            self.ledgers.append({"unit": p["unit"], "district_code": p.get("district_code"),
                                 "unit_kind": p["unit_kind"], "at": utc_timestamp(envelope.recorded_at),
                                 "event_id": event_id})
        elif envelope.type == "ReportSubmitted":
            self.reports.append({"report_id": p["report_id"], "unit": p["unit"], "deadline": p["deadline"],
                                 "submitted_at": utc_timestamp(envelope.recorded_at),
                                 "figures": json.dumps(p["figures"], sort_keys=True), "event_id": event_id,
                                 "actor": envelope.actor.department})
        elif envelope.type == "ResponsibilityReportSubmitted":
            self.responsibility.append({"report_id": p["report_id"], "department": p["department"], "due": p["due"],
                                        "submitted_at": utc_timestamp(envelope.recorded_at), "event_id": event_id,
                                        "actor": envelope.actor.department})
        elif envelope.type == "BulletinPublished":
            self.bulletins.append({"bulletin_id": p["bulletin_id"], "cutoff_date": p["cutoff_date"],
                                   "published_at": utc_timestamp(envelope.recorded_at),
                                   "figures_sha256": p["figures_sha256"],
                                   "checkpoint_tree_size": p["checkpoint_tree_size"], "event_id": event_id})
        elif envelope.type == "AccountabilityRecorded":
            self.accountability.append({"entry_id": p["entry_id"], "unit": p["unit"], "entry_kind": p["entry_kind"],
                                        "subject": p["subject"], "recorded_at": utc_timestamp(envelope.recorded_at),
                                        "payload": json.dumps(p, sort_keys=True, ensure_ascii=False),
                                        "event_id": event_id})
        elif envelope.type == "GatheringZoneDeclared":
            self.zones.append({k: p.get(k) for k in ZONE_FIELDS})
        elif envelope.type == "SetupMilestoneRecorded":
            self.milestones.append({k: p.get(k) for k in MILESTONE_FIELDS}
                                   | {"stream_id": envelope.stream_id, "event_id": event_id})

    def write(self, conn: Connection, schema: str) -> None:
        """Insert the rows into ``schema``'s record tables, inside the caller's transaction."""
        tables = quoted_schema(schema)
        for rows_of, statement in INSERTS:
            rows = getattr(self, rows_of)
            if rows:
                conn.execute(sa.text(statement.format(tables=tables)), rows)


# Per record table: the RecordRows attribute holding its rows, and the statement that inserts them. A ledger
# unit keeps its first submission; the others keep the first row of an id (a redelivered event adds nothing).
INSERTS = (
    ("ledgers", "INSERT INTO {tables}.rp_ledger_submissions (unit, district_code, unit_kind, first_submitted_at,"
                " event_id) VALUES (:unit, :district_code, :unit_kind, :at, :event_id) ON CONFLICT (unit) DO UPDATE SET"
                " first_submitted_at = LEAST(rp_ledger_submissions.first_submitted_at, EXCLUDED.first_submitted_at),"
                " event_id = CASE WHEN EXCLUDED.first_submitted_at < rp_ledger_submissions.first_submitted_at"
                " THEN EXCLUDED.event_id ELSE rp_ledger_submissions.event_id END"),
    ("reports", "INSERT INTO {tables}.rp_reports (report_id, unit, deadline, submitted_at, figures, event_id, actor)"
                " VALUES (:report_id, :unit, :deadline, :submitted_at, CAST(:figures AS jsonb), :event_id, :actor)"
                " ON CONFLICT (report_id) DO NOTHING"),
    ("responsibility", "INSERT INTO {tables}.rp_responsibility_reports (report_id, department, due, submitted_at,"
                       " event_id, actor) VALUES (:report_id, :department, :due, :submitted_at, :event_id, :actor)"
                       " ON CONFLICT (report_id) DO NOTHING"),
    ("bulletins", "INSERT INTO {tables}.rp_bulletins (bulletin_id, cutoff_date, published_at, figures_sha256,"
                  " checkpoint_tree_size, event_id) VALUES (:bulletin_id, :cutoff_date, :published_at,"
                  " :figures_sha256, :checkpoint_tree_size, :event_id) ON CONFLICT (bulletin_id) DO NOTHING"),
    ("accountability", "INSERT INTO {tables}.rp_accountability (entry_id, unit, entry_kind, subject, recorded_at,"
                       " payload, event_id) VALUES (:entry_id, :unit, :entry_kind, :subject, :recorded_at,"
                       " CAST(:payload AS jsonb), :event_id) ON CONFLICT (entry_id) DO NOTHING"),
    ("zones", "INSERT INTO {tables}.rp_gathering_zones (" + ", ".join(ZONE_FIELDS) + ") VALUES ("
              + ", ".join(f":{f}" for f in ZONE_FIELDS) + ") ON CONFLICT (zone_id) DO NOTHING"),
    ("milestones", "INSERT INTO {tables}.rp_setup_milestones (stream_id, event_id, " + ", ".join(MILESTONE_FIELDS)
                   + ") VALUES (:stream_id, :event_id, " + ", ".join(f":{f}" for f in MILESTONE_FIELDS)
                   + ") ON CONFLICT (stream_id) DO NOTHING"),
)
