"""The registry's tables for departments' verification lists: the current list and its rows (written with the
list's events), and the differences against the registry's entities (computed when read)."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.auth import division_prefix
from registry.domain.verification import ListKind, ListRow

SUMMARY_COLUMNS = ("list_key", "department", "territory", "list_id", "submission", "import_id", "row_count",
                   "matched_count", "registered_differently_count", "not_in_registry_count", "member_count",
                   "imported_by", "imported_at")


def entities_by_codes(conn: Connection, codes: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """uscc -> (entity_id, the facts a list's scope is judged on) for the registered ones."""
    rows = conn.execute(sa.text("SELECT uscc, entity_id, kind, subtype, district_code, street_code,"
                                " coalesce((facts->>'above_scale')::boolean, false) AS above_scale"
                                " FROM entities WHERE uscc = ANY(:codes)"), {"codes": list(codes)}).mappings()
    return {r["uscc"]: (r["entity_id"], dict(r)) for r in rows}


def current(conn: Connection, list_key: str, lock: bool = False) -> dict | None:
    row = conn.execute(sa.text(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM verification_lists WHERE list_key = :k"
                               + (" FOR UPDATE" if lock else "")), {"k": list_key}).mappings().first()
    return dict(row) if row is not None else None


def summaries(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(sa.text(
        f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM verification_lists ORDER BY list_key")).mappings()]


def replace_list(conn: Connection, summary: Mapping[str, Any], rows: Sequence[ListRow]) -> None:
    """The department's new list replaces its earlier one (rows and summary)."""
    conn.execute(sa.text("DELETE FROM verification_rows WHERE list_key = :k"), {"k": summary["list_key"]})
    if rows:
        conn.execute(sa.text("INSERT INTO verification_rows (list_key, row_number, uscc, name, member)"
                             " VALUES (:k, :n, :u, :name, :m)"),
                     [{"k": summary["list_key"], "n": r.row, "u": r.uscc, "name": r.name, "m": r.member} for r in rows])
    conn.execute(sa.text(
        f"INSERT INTO verification_lists ({', '.join(SUMMARY_COLUMNS)}) VALUES"
        f" ({', '.join(':' + c for c in SUMMARY_COLUMNS)}) ON CONFLICT (list_key) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in SUMMARY_COLUMNS[1:])), dict(summary))


def list_id_of_import(conn: Connection, import_id: str) -> str | None:
    return conn.execute(sa.text("SELECT payload->>'list_id' FROM events WHERE type = 'VerificationListImported'"
                                " AND payload->>'import_id' = :i LIMIT 1"), {"i": import_id}).scalar()


def differences(conn: Connection, kind: ListKind, list_key: str, territory: str | None) -> dict[str, list[dict]]:
    """The list against the registry as it is now: not_in_registry, registered_differently, missing_from_list."""
    listed = conn.execute(sa.text(
        "SELECT r.row_number, r.uscc, r.name, r.member, e.entity_id, e.name AS registered_name, e.kind, e.subtype,"
        " e.district_code, e.street_code, coalesce((e.facts->>'above_scale')::boolean, false) AS above_scale"
        " FROM verification_rows r LEFT JOIN entities e ON e.uscc = r.uscc WHERE r.list_key = :k"
        " ORDER BY r.row_number"), {"k": list_key}).mappings().all()
    not_in, different, on_list = [], [], set()
    for row in listed:
        if row["entity_id"] is None:
            not_in.append({"row": row["row_number"], "uscc": row["uscc"], "name": row["name"], "member": row["member"]})
            continue
        on_list.add(row["entity_id"])
        if not kind.in_scope(row):
            different.append({"row": row["row_number"], "uscc": row["uscc"], "name": row["name"],
                              "entity_id": row["entity_id"], "registered_name": row["registered_name"],
                              "kind": row["kind"], "subtype": row["subtype"], "above_scale": row["above_scale"]})
    where, params = "kind = ANY(:kinds)", {"kinds": ["social_organization"] if kind.department == "civil_affairs"
                                           else ["non_public_enterprise"]}
    if territory:
        where += " AND (district_code LIKE :p OR street_code LIKE :p)"
        params["p"] = division_prefix(territory) + "%"
    candidates = conn.execute(sa.text(
        "SELECT entity_id, uscc, name, kind, subtype, district_code, street_code, flags,"
        f" coalesce((facts->>'above_scale')::boolean, false) AS above_scale FROM entities WHERE {where}"
        " ORDER BY district_code, entity_id"), params).mappings()
    missing = [{"entity_id": r["entity_id"], "uscc": r["uscc"], "name": r["name"], "district_code": r["district_code"],
                "street_code": r["street_code"], "flags": list(r["flags"])}
               for r in candidates if kind.in_scope(r) and r["entity_id"] not in on_list]
    return {"not_in_registry": not_in, "registered_differently": different, "missing_from_list": missing}


def summary_row(list_key: str, department: str, territory: str | None, payload: Mapping[str, Any], by: str,
                at: datetime) -> dict:
    return {"list_key": list_key, "department": department, "territory": territory, "list_id": payload["list_id"],
            "submission": payload["submission"], "import_id": payload["import_id"], "row_count": payload["row_count"],
            "matched_count": payload["matched_count"],
            "registered_differently_count": payload["registered_differently_count"],
            "not_in_registry_count": payload["not_in_registry_count"], "member_count": payload["member_count"],
            "imported_by": by, "imported_at": at}
