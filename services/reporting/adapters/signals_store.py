"""The signals projection's tables (``campaign consume reporting --projection signals``, docs/detectors.md).

``rp_signal_events`` keeps the events the detectors read (their canonical envelopes, one row each: a
redelivered event is a no-op), ``rp_signals`` the signals they find with their evidence; each batch's rows and
offsets commit together (the shared driver). Reporting's role owns both, like the other projection tables.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.db import quoted_schema
from platform_core.envelope import EventEnvelope
from platform_core.projection_consumer import forget_progress
from reporting.domain.signals import Signal

SIGNALS_GROUP = "reporting-signals"
SIGNAL_TABLES = ("rp_signal_events", "rp_signals", "rp_signal_marks", "rp_signal_meta")
# Raised when the kept events or the tables change (e.g. the detectors read another event type): tables of
# another version are dropped with the group's offsets, and the projection rebuilds from the topics.
# 3: relay repeats told by stream version (stream_versions): rebuilt once to write them.
SIGNALS_VERSION = 3

TABLES_SQL = """
CREATE TABLE IF NOT EXISTS {s}.rp_signal_events (
    event_id text PRIMARY KEY,
    recorded_at timestamptz NOT NULL,
    envelope jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.rp_signals (
    signal_id text PRIMARY KEY,
    kind text NOT NULL,
    districts text[] NOT NULL,
    entity_ids text[] NOT NULL,
    organization_ids text[] NOT NULL,
    event_ids text[] NOT NULL,
    explanation text NOT NULL,
    thresholds jsonb NOT NULL,
    detail jsonb NOT NULL,
    observed_on date,
    first_seen_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS rp_signals_districts ON {s}.rp_signals USING gin (districts);
CREATE TABLE IF NOT EXISTS {s}.rp_signal_meta (id int PRIMARY KEY CHECK (id = 1), version int NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.rp_signal_marks (
    signal_id text PRIMARY KEY,
    verdict text NOT NULL,
    reason text NOT NULL,
    marked_on date NOT NULL,
    marked_by text NOT NULL,
    recorded_at timestamptz NOT NULL,
    event_id text NOT NULL
);
"""


def create_signal_tables(conn: Connection, schema: str, group_id: str = SIGNALS_GROUP) -> None:
    s = quoted_schema(schema)
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"signal-tables:{schema}"})
    conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {s}"))
    stored = None
    if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{s}.rp_signal_meta"}).scalar() is not None:
        stored = conn.execute(sa.text(f"SELECT version FROM {s}.rp_signal_meta")).scalar()
    if stored != SIGNALS_VERSION:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {', '.join(f'{s}.{t}' for t in SIGNAL_TABLES if t != 'rp_signal_marks')}"))
        forget_progress(conn, schema, group_id)
    conn.exec_driver_sql(TABLES_SQL.format(s=s))
    conn.execute(sa.text(f"INSERT INTO {s}.rp_signal_meta (id, version) VALUES (1, :v) ON CONFLICT (id) DO UPDATE"
                         " SET version = EXCLUDED.version"), {"v": SIGNALS_VERSION})


def add_events(conn: Connection, schema: str, envelopes: Iterable[EventEnvelope]) -> int:
    rows = [{"id": str(e.event_id), "at": e.recorded_at, "envelope": json.dumps(e.as_canonical_dict(), ensure_ascii=False)}
            for e in envelopes]
    if not rows:
        return 0
    result = conn.execute(sa.text(
        f"INSERT INTO {quoted_schema(schema)}.rp_signal_events (event_id, recorded_at, envelope)"
        " VALUES (:id, :at, CAST(:envelope AS jsonb)) ON CONFLICT DO NOTHING"), rows)
    return result.rowcount


def add_marks(conn: Connection, schema: str, marks: Iterable[EventEnvelope]) -> None:
    """SignalMarked events: the latest mark of each signal (by recorded_at) stands."""
    rows = [{"id": m.payload["signal_id"], "verdict": m.payload["verdict"], "reason": m.payload["reason"],
             "on": m.payload["marked_on"], "by": f"{m.actor.department}/{m.actor.user}", "at": m.recorded_at,
             "event": str(m.event_id)} for m in marks]
    if rows:
        conn.execute(sa.text(
            f"INSERT INTO {quoted_schema(schema)}.rp_signal_marks AS m (signal_id, verdict, reason, marked_on,"
            " marked_by, recorded_at, event_id) VALUES (:id, :verdict, :reason, :on, :by, :at, :event)"
            " ON CONFLICT (signal_id) DO UPDATE SET verdict = EXCLUDED.verdict, reason = EXCLUDED.reason,"
            " marked_on = EXCLUDED.marked_on, marked_by = EXCLUDED.marked_by, recorded_at = EXCLUDED.recorded_at,"
            " event_id = EXCLUDED.event_id WHERE m.recorded_at <= EXCLUDED.recorded_at"), rows)


def known_signals(conn: Connection, schema: str, signal_ids: list[str]) -> dict[str, tuple[str, list[str]]]:
    rows = conn.execute(sa.text(f"SELECT signal_id, kind, districts FROM {quoted_schema(schema)}.rp_signals"
                                " WHERE signal_id = ANY(:ids)"), {"ids": list(signal_ids)})
    return {r.signal_id: (r.kind, list(r.districts)) for r in rows}


def marks_of(conn: Connection, schema: str) -> dict[str, str]:
    """signal id -> confirmed / dismissed (the bulletin's lines leave dismissed signals out)."""
    rows = conn.execute(sa.text(f"SELECT signal_id, verdict FROM {quoted_schema(schema)}.rp_signal_marks"))
    return {r.signal_id: r.verdict for r in rows}


@dataclass(frozen=True)
class SignalSummary:
    """What a bulletin's 存在问题 lines need of a signal (reporting.domain.signals.bulletin_lines)."""

    signal_id: str
    kind: str
    districts: tuple[str, ...]


def signals_until(conn: Connection, schema: str, until: date) -> list[SignalSummary]:
    """The signals observed on or before ``until`` (a bulletin's cutoff): none when the projection has no table."""
    table = f"{quoted_schema(schema)}.rp_signals"
    if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
        return []
    rows = conn.execute(sa.text(f"SELECT signal_id, kind, districts FROM {table} WHERE observed_on <= :until"
                                " ORDER BY signal_id"), {"until": until})
    return [SignalSummary(r.signal_id, r.kind, tuple(r.districts)) for r in rows]


def load_events(conn: Connection, schema: str) -> list[EventEnvelope]:
    rows = conn.execute(sa.text(
        f"SELECT envelope FROM {quoted_schema(schema)}.rp_signal_events ORDER BY recorded_at, event_id")).scalars()
    return [EventEnvelope.model_validate(row) for row in rows]


def replace_signals(conn: Connection, schema: str, signals: list[Signal], now: datetime) -> None:
    """The signals the events now show; one found before keeps the time it was first seen."""
    table = f"{quoted_schema(schema)}.rp_signals"
    ids = [s.signal_id for s in signals]
    conn.execute(sa.text(f"DELETE FROM {table} WHERE NOT (signal_id = ANY(:ids))"), {"ids": ids})
    if not signals:
        return
    conn.execute(sa.text(
        f"INSERT INTO {table} (signal_id, kind, districts, entity_ids, organization_ids, event_ids, explanation,"
        " thresholds, detail, observed_on, first_seen_at) VALUES (:signal_id, :kind, :districts, :entity_ids,"
        " :organization_ids, :event_ids, :explanation, CAST(:thresholds AS jsonb), CAST(:detail AS jsonb),"
        " :observed_on, :now) ON CONFLICT (signal_id) DO UPDATE SET districts = EXCLUDED.districts,"
        " entity_ids = EXCLUDED.entity_ids, organization_ids = EXCLUDED.organization_ids,"
        " event_ids = EXCLUDED.event_ids, explanation = EXCLUDED.explanation, thresholds = EXCLUDED.thresholds,"
        " detail = EXCLUDED.detail, observed_on = EXCLUDED.observed_on"),
        [{"signal_id": s.signal_id, "kind": s.kind, "districts": list(s.districts), "entity_ids": list(s.entity_ids),
          "organization_ids": list(s.organization_ids), "event_ids": list(s.event_ids),
          "explanation": s.explanation, "thresholds": json.dumps(dict(s.thresholds)),
          "detail": json.dumps(dict(s.detail), ensure_ascii=False), "observed_on": s.observed_on, "now": now}
         for s in signals])


def list_signals(conn: Connection, schema: str, districts: list[str] | None, kind: str | None = None,
                 limit: int = 200, offset: int = 0) -> tuple[int, list[dict]]:
    """Signals touching any of ``districts`` (None: all), newest observation first."""
    where, params = [], {"limit": limit, "offset": offset}
    if districts is not None:
        where.append("districts && CAST(:districts AS text[])")
        params["districts"] = districts
    if kind is not None:
        where.append("kind = :kind")
        params["kind"] = kind
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    table = f"{quoted_schema(schema)}.rp_signals"
    exists = conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar()
    if exists is None:
        return 0, []
    total = conn.execute(sa.text(f"SELECT count(*) FROM {table} {clause}"), params).scalar()
    rows = conn.execute(sa.text(
        f"SELECT s.signal_id, kind, districts, entity_ids, organization_ids, event_ids, explanation, thresholds,"
        f" detail, observed_on, first_seen_at, m.verdict, m.reason AS mark_reason, m.marked_on, m.marked_by,"
        f" m.event_id AS mark_event_id FROM {table} s LEFT JOIN {quoted_schema(schema)}.rp_signal_marks m"
        f" USING (signal_id) {clause} ORDER BY observed_on DESC NULLS LAST, s.signal_id"
        " LIMIT :limit OFFSET :offset"), params).mappings()
    return total, [dict(r) for r in rows]
