"""The registry's read tables: writes (inside the handler's transaction) and queries."""

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from platform_core.event_store import insert_values, jsonb_text
from platform_core.rules.ledgers import ENTERPRISE_KINDS
from platform_core.rules.requirements import member_required, organization_required
from registry.adapters.persons import PERSONS_COLUMNS, PERSONS_JOIN, PersonsRecord
from registry.domain.ledger import LedgerUnit
from registry.domain.shadow import Candidate, name_key

ENTITY_COLUMNS = ("entity_id", "uscc", "name", "kind", "subtype", "district_code", "street_code", "level",
                  "supervising_department", "industry", "employees", "formal_members", "probationary_members",
                  "flags", "duplicate_of", "approved_in", "in_baseline", "version", "import_id", "registered_at",
                  "updated_at", "facts", "persons_ref")
_WRITTEN_COLUMNS = ("entity_id", "uscc", "name", "name_key", "kind", "subtype", "district_code", "street_code",
                    "level", "supervising_department", "industry", "employees", "formal_members",
                    "probationary_members", "address_key", "person_key", "persons_ref", "version", "import_id",
                    "registered_at", "updated_at")


def _person_keys(facts: Mapping[str, Any]) -> dict[str, str | None]:
    """The columns shadow detection looks up: the keyed hashes of the address and legal representative."""
    sealed = facts.get("personal_data") or {}
    return {"address_key": sealed.get("address_hash"), "person_key": sealed.get("legal_representative_hash")}


def entity_row(entity_id: str, facts: Mapping[str, Any], version: int, at: datetime,
               import_id: str | None = None) -> dict[str, Any]:
    """``facts`` as events carry them: the persons only as their sealed record (``personal_data``)."""
    return {
        "entity_id": entity_id, "uscc": facts["uscc"], "name": facts["name"], "name_key": name_key(facts["name"]),
        "kind": facts["kind"], "subtype": facts["subtype"], "district_code": facts["district_code"],
        "street_code": facts["street_code"], "level": facts.get("level"),
        "supervising_department": facts.get("supervising_department"), "industry": facts["industry"],
        "employees": facts["employees"], "formal_members": facts["formal_members"],
        "probationary_members": facts["probationary_members"], **_person_keys(facts),
        "persons_ref": (facts.get("personal_data") or {}).get("ref"),
        "facts": dict(facts), "version": version, "import_id": import_id,
        "registered_at": at, "updated_at": at,
    }


# unqualified: the handler's transaction sets the search_path
_INSERT_MANY = f"INSERT INTO entities ({', '.join(_WRITTEN_COLUMNS)}, facts) VALUES %s"
_INSERT_MANY_ROW = f"({', '.join(['%s'] * len(_WRITTEN_COLUMNS))}, %s::jsonb)"


def insert_entities(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Multi-row VALUES, 1,000 rows a statement: 10,000 rows of an import in ten round trips."""
    if rows:
        insert_values(conn, _INSERT_MANY, [(*(row[name] for name in _WRITTEN_COLUMNS), jsonb_text(row["facts"]))
                                           for row in rows], _INSERT_MANY_ROW)


# Built once (a statement built per call cost more client CPU than its round trip). The entity comes back
# as ``get_entity`` reads it, its persons record (inserted just before, same transaction) joined.
_INSERT_ONE_RETURNING = sa.text(
    f"WITH e AS (INSERT INTO entities ({', '.join(_WRITTEN_COLUMNS)}, facts)"
    f" VALUES ({', '.join(f':{name}' for name in _WRITTEN_COLUMNS)}, CAST(:facts AS JSONB))"
    f" RETURNING {', '.join(ENTITY_COLUMNS)}) SELECT e.*, {PERSONS_COLUMNS} FROM e {PERSONS_JOIN}")


def insert_entity(conn: Connection, row: Mapping[str, Any]) -> dict:
    """One new entity, returned as ``get_entity`` would read it (one round trip, not two). A second
    entity with the same code fails at ``entities_uscc_unique`` (IntegrityError)."""
    params = dict(row, facts=json.dumps(row["facts"], ensure_ascii=False))
    return _entity_dict(conn.execute(_INSERT_ONE_RETURNING, params).mappings().one())


_UPDATE_FACTS = sa.text(
    "UPDATE entities SET facts = CASE WHEN :keep THEN jsonb_set(CAST(:facts AS JSONB), '{personal_data}',"
    " coalesce(facts->'personal_data', 'null')) ELSE CAST(:facts AS JSONB) END, industry = :industry,"
    " employees = :employees, formal_members = :formal_members, probationary_members = :probationary_members,"
    " address_key = CASE WHEN :keep THEN address_key ELSE :address_key END,"
    " person_key = CASE WHEN :keep THEN person_key ELSE :person_key END,"
    " persons_ref = CASE WHEN :keep THEN persons_ref ELSE coalesce(:persons_ref, persons_ref) END,"
    " version = :version, updated_at = :at"
    " WHERE entity_id = :entity_id")


def update_facts(conn: Connection, entity_id: str, facts: Mapping[str, Any], version: int, at: datetime,
                 persons_changed: bool = True) -> None:
    """The facts after an event. Unless the persons changed, the row's sealed record stays as it is (an entity
    registered before sealing has its record in this table only). An erased record stays the entity's
    ``persons_ref``, so reads show it erased."""
    conn.execute(_UPDATE_FACTS, {
        "keep": not persons_changed, "facts": json.dumps(dict(facts), ensure_ascii=False), "industry": facts["industry"],
         "employees": facts["employees"], "formal_members": facts["formal_members"],
         "probationary_members": facts["probationary_members"], **_person_keys(facts),
         "persons_ref": (facts.get("personal_data") or {}).get("ref"), "version": version, "at": at,
         "entity_id": entity_id})


def set_flags(conn: Connection, entity_id: str, flags: Iterable[str], duplicate_of: str | None, version: int,
              at: datetime) -> None:
    conn.execute(sa.text("UPDATE entities SET flags = :flags, duplicate_of = :dup, version = :version,"
                         " updated_at = :at WHERE entity_id = :entity_id"),
                 {"flags": sorted(flags), "dup": duplicate_of, "version": version, "at": at, "entity_id": entity_id})


def admit_to_baseline(conn: Connection, unit: str, entity_ids: Sequence[str]) -> int:
    """R1: the approved ledger's entities enter the baseline (the first approving ledger is kept)."""
    result = conn.execute(sa.text("UPDATE entities SET approved_in = :unit WHERE entity_id = ANY(:ids)"
                                  " AND approved_in IS NULL"), {"unit": unit, "ids": list(entity_ids)})
    return result.rowcount


def existing_codes(conn: Connection, codes: Sequence[str]) -> dict[str, tuple[str, str]]:
    """uscc -> (entity_id, name) for codes already registered."""
    rows = conn.execute(sa.text("SELECT uscc, entity_id, name FROM entities WHERE uscc = ANY(:codes)"),
                        {"codes": list(codes)}).all()
    return {row.uscc: (row.entity_id, row.name) for row in rows}


_SHADOW_NEIGHBOURS = sa.text(
    "SELECT entity_id, name, address_key, person_key FROM entities WHERE kind = 'non_public_enterprise'"
    " AND (address_key = ANY(:a) OR person_key = ANY(:p))")


def shadow_neighbours(conn: Connection, address_keys: Sequence[str], person_keys: Sequence[str]) -> list[dict]:
    """Enterprises sharing an address or a legal representative with any of the given keys."""
    if not address_keys and not person_keys:
        return []
    rows = conn.execute(_SHADOW_NEIGHBOURS, {"a": list(address_keys), "p": list(person_keys)}).mappings().all()
    return [dict(row) for row in rows]


def insert_candidates(conn: Connection, candidates: Sequence[Candidate], district_of: Mapping[str, str]) -> None:
    if candidates:
        conn.execute(sa.text(
            "INSERT INTO shadow_candidates (entity_id, candidate_of, district_code, score, reasons)"
            " VALUES (:e, :c, :d, :s, :r) ON CONFLICT DO NOTHING"),
            [{"e": c.entity_id, "c": c.candidate_of, "d": district_of[c.entity_id], "s": c.score,
              "r": list(c.reasons)} for c in candidates])


def decide_candidate(conn: Connection, entity_id: str, candidate_of: str, status: str, decided_by: str) -> int:
    return conn.execute(sa.text(
        "UPDATE shadow_candidates SET status = :s, decided_by = :by WHERE status = 'open' AND"
        " ((entity_id = :e AND candidate_of = :c) OR (entity_id = :c AND candidate_of = :e))"),
        {"s": status, "by": decided_by, "e": entity_id, "c": candidate_of}).rowcount


def unit_entity_ids(conn: Connection, unit: LedgerUnit) -> list[str]:
    """The entities a ledger unit currently holds (see LedgerUnit.holds; same rules in SQL)."""
    where, params = _unit_filter(unit)
    return list(conn.execute(sa.text(f"SELECT entity_id FROM entities WHERE {where} ORDER BY entity_id"),
                             params).scalars())


def unit_entities(conn: Connection, unit: LedgerUnit) -> list[dict]:
    """The entities a ledger unit currently holds, as ``get_entity`` reads them, in the order registered."""
    where, params = _unit_filter(unit)
    rows = conn.execute(sa.text(f"SELECT e.*, {PERSONS_COLUMNS} FROM (SELECT {', '.join(ENTITY_COLUMNS)}"
                                f" FROM entities WHERE {where}) e {PERSONS_JOIN}"
                                " ORDER BY e.registered_at, e.entity_id"), params).mappings().all()
    return [_entity_dict(row) for row in rows]


def registered_by_code(conn: Connection, codes: Sequence[str]) -> dict[str, dict]:
    """uscc -> the entity as ``get_entity`` reads it, for the codes already registered."""
    rows = conn.execute(sa.text(f"SELECT e.*, {PERSONS_COLUMNS} FROM (SELECT {', '.join(ENTITY_COLUMNS)}"
                                f" FROM entities WHERE uscc = ANY(:codes)) e {PERSONS_JOIN}"),
                        {"codes": list(codes)}).mappings().all()
    return {row["uscc"]: _entity_dict(row) for row in rows}


def _unit_filter(unit: LedgerUnit) -> tuple[str, dict]:
    enterprise = "kind = ANY(:kinds)"
    if unit.kind == "street":
        return f"{enterprise} AND street_code = :code", {"kinds": list(ENTERPRISE_KINDS), "code": unit.street_code}
    if unit.kind == "district_enterprise":
        return f"{enterprise} AND district_code = :code", {"kinds": list(ENTERPRISE_KINDS), "code": unit.district_code}
    social = "kind = 'social_organization'"
    if unit.kind == "district_social":
        return f"{social} AND level = 'district' AND district_code = :code", {"code": unit.district_code}
    if unit.kind == "civil_affairs":
        return f"{social} AND level = 'city' AND supervising_department IS NULL", {}
    if unit.kind == "supervisor":
        return f"{social} AND level = 'city' AND supervising_department = :sup", {"sup": unit.supervisor}
    return f"{social} AND level = 'city' AND supervising_department IS NOT NULL", {}


def save_ledger(conn: Connection, unit: LedgerUnit, status: str, submission: int, entity_count: int,
                approved_count: int, reasons: Sequence[str], version: int, by: str, at: datetime) -> None:
    conn.execute(sa.text(
        "INSERT INTO ledgers (unit, unit_kind, name, district_code, status, submission, entity_count, approved_count,"
        " reasons, version, updated_by, updated_at) VALUES (:unit, :kind, :name, :district, :status, :submission,"
        " :count, :approved, :reasons, :version, :by, :at) ON CONFLICT (unit) DO UPDATE SET status = EXCLUDED.status,"
        " submission = EXCLUDED.submission, entity_count = EXCLUDED.entity_count,"
        " approved_count = EXCLUDED.approved_count, reasons = EXCLUDED.reasons, version = EXCLUDED.version,"
        " updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at"),
        {"unit": unit.code, "kind": unit.kind, "name": unit.name, "district": unit.district_code, "status": status,
         "submission": submission, "count": entity_count, "approved": approved_count, "reasons": list(reasons),
         "version": version, "by": by, "at": at})


# -- queries ---------------------------------------------------------------------------------------
def _entity_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """The entity with its facts; its persons under ``persons`` as a still sealed record (routes open it
    for callers whose scope covers the entity, registry.entrypoints.persons)."""
    record = dict(row)
    sealed = {name: record.pop(f"persons_{name}") for name in ("sealed", "erased_at", "master_key_id", "wrapped_key")}
    ref = record.pop("persons_ref")
    record["persons"] = PersonsRecord(ref, **sealed) if ref is not None else None
    facts = record.pop("facts")
    record["flags"] = list(record["flags"])
    merged = {**facts, **record}
    merged["organization_required"] = organization_required(merged)
    merged["member_required"] = member_required(merged)
    return merged


# Statements built once: a text() clause built per call costs more Python than its round trip.
_ENTITY_BY = {column: sa.text(f"SELECT e.*, {PERSONS_COLUMNS} FROM (SELECT {', '.join(ENTITY_COLUMNS)} FROM entities"
                               f" WHERE {column} = :v) e {PERSONS_JOIN}") for column in ("entity_id", "uscc")}


def get_entity(conn: Connection, entity_id: str | None = None, uscc: str | None = None) -> dict | None:
    column, value = ("entity_id", entity_id) if entity_id is not None else ("uscc", uscc)
    row = conn.execute(_ENTITY_BY[column], {"v": value}).mappings().first()
    return _entity_dict(row) if row is not None else None


def search_entities(conn: Connection, *, name: str | None = None, district: str | None = None,
                    street: str | None = None, kind: str | None = None, flag: str | None = None,
                    in_baseline: bool | None = None, limit: int = 50, offset: int = 0) -> tuple[int, list[dict]]:
    clauses, params = ["TRUE"], {}
    if name:
        clauses.append("(name ILIKE :name OR name_key LIKE :key)")
        params.update(name=f"%{name}%", key=f"%{name_key(name)}%")
    for column, value in (("district_code", district), ("street_code", street), ("kind", kind)):
        if value:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    if flag == "any":
        clauses.append("cardinality(flags) > 0")
    elif flag == "none":
        clauses.append("cardinality(flags) = 0")
    elif flag:
        clauses.append(":flag = ANY(flags)")
        params["flag"] = flag
    if in_baseline is not None:
        clauses.append("in_baseline = :in_baseline")
        params["in_baseline"] = in_baseline
    where = " AND ".join(clauses)
    total = conn.execute(sa.text(f"SELECT count(*) FROM entities WHERE {where}"), params).scalar_one()
    rows = conn.execute(sa.text(f"SELECT e.*, {PERSONS_COLUMNS} FROM (SELECT {', '.join(ENTITY_COLUMNS)}"
                                f" FROM entities WHERE {where} ORDER BY registered_at, entity_id LIMIT :limit"
                                f" OFFSET :offset) e {PERSONS_JOIN} ORDER BY e.registered_at, e.entity_id"),
                        {**params, "limit": limit, "offset": offset}).mappings().all()
    return total, [_entity_dict(row) for row in rows]


def baseline_counts(conn: Connection, by: str, district: str | None = None) -> list[dict]:
    """Per unit (district, street, kind or ledger): registered, approved, flagged, in the baseline."""
    column = {"district": "district_code", "street": "street_code", "kind": "kind", "ledger": "approved_in"}[by]
    where, params = ("district_code = :d", {"d": district}) if district else ("TRUE", {})
    rows = conn.execute(sa.text(
        f"SELECT {column} AS unit, count(*) AS registered, count(approved_in) AS approved,"
        " count(*) FILTER (WHERE cardinality(flags) > 0) AS flagged,"
        " count(*) FILTER (WHERE in_baseline) AS in_baseline"
        f" FROM entities WHERE {where} GROUP BY {column} ORDER BY {column} NULLS LAST"), params).mappings().all()
    return [dict(row) for row in rows]


def list_ledgers(conn: Connection, district: str | None = None, status: str | None = None) -> list[dict]:
    clauses, params = ["TRUE"], {}
    if district:
        clauses.append("district_code = :d")
        params["d"] = district
    if status:
        clauses.append("status = :s")
        params["s"] = status
    rows = conn.execute(sa.text(f"SELECT unit, unit_kind, name, district_code, status, submission, entity_count,"
                                f" approved_count, reasons, version, updated_by, updated_at FROM ledgers"
                                f" WHERE {' AND '.join(clauses)} ORDER BY unit"), params).mappings().all()
    return [dict(row, reasons=list(row["reasons"])) for row in rows]


def list_candidates(conn: Connection, district: str | None = None, status: str = "open",
                    limit: int = 100) -> list[dict]:
    clauses, params = ["status = :status"], {"status": status, "limit": limit}
    if district:
        clauses.append("c.district_code = :d")
        params["d"] = district
    rows = conn.execute(sa.text(
        "SELECT c.entity_id, e.name, c.candidate_of, o.name AS candidate_name, c.score, c.reasons, c.status,"
        " c.decided_by, c.found_at FROM shadow_candidates c JOIN entities e ON e.entity_id = c.entity_id"
        f" JOIN entities o ON o.entity_id = c.candidate_of WHERE {' AND '.join(clauses)}"
        " ORDER BY c.found_at, c.entity_id LIMIT :limit"), params).mappings().all()
    return [dict(row, reasons=list(row["reasons"])) for row in rows]


def save_import(conn: Connection, record: Mapping[str, Any]) -> None:
    conn.execute(sa.text(
        "INSERT INTO imports (import_id, idempotency_key, form, filename, file_sha256, department, user_name, status,"
        " row_count, imported_count, errors, seconds) VALUES (:import_id, :idempotency_key, :form, :filename,"
        " :file_sha256, :department, :user_name, :status, :row_count, :imported_count, CAST(:errors AS JSONB),"
        " :seconds)"), {**record, "errors": json.dumps(record["errors"], ensure_ascii=False)})


def get_import(conn: Connection, import_id: str | None = None, idempotency_key: str | None = None) -> dict | None:
    column, value = ("import_id", import_id) if import_id is not None else ("idempotency_key", idempotency_key)
    row = conn.execute(sa.text(f"SELECT * FROM imports WHERE {column} = :v"), {"v": value}).mappings().first()
    return dict(row) if row is not None else None
