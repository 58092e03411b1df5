"""Bulk import of the survey forms 附表1/附表2: every row validated, all-or-nothing per file.

A rejected file writes no entity and no event; its error report (row, column,
reason) is kept under the import id for download. An accepted file becomes one
EntityRegistered stream per new row, appended in one transaction with the read rows.

A row whose code is registered already is the registry's own data when every fact it states equals the
registered one (an exported ledger imported back, docs/registry.md "Forms out"): it is counted as
unchanged and writes nothing. Stating any fact differently is a row error naming the columns: a change
is a profile update (PATCH /entities/{id}), never a second registration.
"""

import hashlib
import time
import uuid
from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from platform_core.auth import Forbidden, Principal
from platform_core.errors import IdempotencyKeyReused, NotFound, SchemaViolation
from platform_core.event_store import AppendResult
from platform_core.events import Command, Decision
from platform_core.http import record_refusal
from registry.adapters import repository as repo
from registry.adapters.spreadsheet import Sheet, SheetLimits, read_sheet
from registry.domain import entity as domain
from registry.domain import forms, persons, policy
from registry.domain.shadow import Candidate, match
from registry.domain.vocabulary import FIELD_NAMES

from .context import RegistryContext

# Blank columns a filled-in template may have besides its own and the ignored ones (序号, 备注, 编号).
SPARE_COLUMNS = 5


def sheet_limits(ctx: RegistryContext, columns: int, ignored: int = len(forms.IGNORED_HEADERS)) -> SheetLimits:
    """A sheet of ``columns`` known and ``ignored`` tolerated headers: wider is refused before it is read."""
    return SheetLimits(columns + ignored + SPARE_COLUMNS, ctx.import_max_rows)


def run_import(ctx: RegistryContext, principal: Principal, form: str, filename: str, content: bytes,
               idempotency_key: str | None = None) -> tuple[dict, bool]:
    """The import's outcome (status imported or rejected, counts, errors); (outcome, replayed).

    The department is authorized for the form before the file is read (403, recorded, nothing parsed)."""
    authorize(principal, form)
    started = time.perf_counter()
    digest = hashlib.sha256(content).hexdigest()
    earlier = earlier_import(ctx, idempotency_key, form, digest)
    if earlier is not None:
        return outcome(earlier), True
    record = new_record(principal, idempotency_key, form, filename, digest)
    sheet = read_sheet(filename, content, sheet_limits(ctx, len(forms.FORMS[form])))
    rows, errors, refused, headers = _validate(ctx, principal, form, sheet)
    unchanged: set[int] = set()
    if not errors:
        errors, unchanged = _against_registry(ctx, rows, headers)
    if refused:
        record_refusal(ctx.engine, ctx.store.schema, Forbidden(
            f"{principal.department} 导入的文件中有{refused}行超出本部门权限（{record['import_id']}）",
            principal=principal, permission="entity.register", target=record["import_id"]))
    if errors:
        return outcome(save_rejected(ctx, record, len(rows), errors, started)), False
    new_rows = [(number, facts) for number, facts in rows if number not in unchanged]
    record.update(status="imported", row_count=len(rows), imported_count=len(new_rows), errors=[])
    if new_rows:
        _write(ctx, principal, record, new_rows, started)
    else:  # every row is the registry's data already: the import is recorded, no event is written
        record["seconds"] = round(time.perf_counter() - started, 3)
        with ctx.begin() as conn:
            repo.save_import(conn, record)
    return outcome(record), False


def authorize(principal: Principal, form: str) -> None:
    """May this department import this form at all: checked before its file is received or read."""
    if form not in forms.FORMS:
        raise SchemaViolation(f"form：应为 form1（附表1）或 form2（附表2），不是“{form}”", field="form")
    policy.require_import(principal, form)


def earlier_import(ctx: RegistryContext, key: str | None, form: str, digest: str) -> dict | None:
    """The import an Idempotency-Key already made; the key reused for another file is 409."""
    if key is None:
        return None
    with ctx.connect() as conn:
        earlier = repo.get_import(conn, idempotency_key=key)
    if earlier is not None and (earlier["file_sha256"] != digest or earlier["form"] != form):
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r} 已用于另一个文件", field="Idempotency-Key")
    return earlier


def new_record(principal: Principal, key: str | None, form: str, filename: str, digest: str) -> dict:
    return {"import_id": f"import-{uuid.uuid4()}", "idempotency_key": key, "form": form, "filename": filename or "",
            "file_sha256": digest, "department": principal.department, "user_name": principal.user}


def save_rejected(ctx: RegistryContext, record: dict, accepted_rows: int, errors: list[forms.RowError],
                  started: float) -> dict:
    """All or nothing: a file with errors writes only its import record with the row-level report."""
    errors.sort(key=lambda e: (e.row, e.column))
    record.update(status="rejected", row_count=accepted_rows + len({e.row for e in errors}), imported_count=0,
                  errors=[{"row": e.row, "column": e.column, "reason": e.reason} for e in errors],
                  seconds=round(time.perf_counter() - started, 3))
    with ctx.begin() as conn:
        repo.save_import(conn, record)
    return record


def _header_row(form: str, sheet: Sheet) -> int | None:
    names = {forms.normalize_header(alias) for alias in forms.FORMS[form][0].headers}
    for index, (_, cells) in enumerate(sheet.rows[: 10]):
        if any(forms.normalize_header(cell) in names for cell in cells):
            return index
    return None


def _validate(ctx: RegistryContext, principal: Principal, form: str,
              sheet: Sheet) -> tuple[list[tuple[int, dict]], list[forms.RowError], int, forms.HeaderMap]:
    index = _header_row(form, sheet)
    if index is None:
        first = forms.FORMS[form][0].headers[0]
        return [], [forms.RowError(1, first, f"前10行中找不到表头（应有“{first}”等列），请使用{forms.FORM_NAMES[form]}模板")], \
            0, forms.HeaderMap()
    header_number, header_cells = sheet.rows[index]
    headers, errors = forms.map_headers(form, header_cells, header_number)
    if errors:
        return [], errors, 0, headers
    data = sheet.rows[index + 1:]
    if len(data) > ctx.import_max_rows:
        return [], [forms.RowError(header_number, "", f"文件有{len(data)}行，超过每个文件{ctx.import_max_rows}行的上限，"
                                                      "请分批导入")], 0, headers
    merged = merged_rows(sheet, header_number)
    rows, refused = [], 0
    wanted = set(headers.columns)
    for number, cells in data:
        if all(forms.is_blank(value) for i, value in enumerate(cells) if i in wanted):
            continue  # empty rows (also pre-numbered template rows) are skipped
        if number in merged:
            errors.append(forms.RowError(number, merged[number], "位于合并单元格内：请取消合并，每行填写一个组织的完整信息"))
            continue
        facts, row_errors = forms.row_facts(form, headers, cells, ctx.vocabulary, number)
        if row_errors:
            errors.extend(row_errors)
            continue
        try:
            policy.require_register(principal, facts, target=facts["uscc"])
        except Forbidden as refusal:
            refused += 1
            errors.append(forms.RowError(number, headers.labels.get("street_code", "所属街道（乡镇）"),
                                         f"超出本部门权限：{refusal.message}"))
            continue
        rows.append((number, facts))
    errors.extend(forms.duplicate_codes(rows, headers.labels.get("uscc", "统一社会信用代码")))
    if not rows and not errors:  # a blank template: nothing to import is a mistake worth saying
        errors.append(forms.RowError(header_number, headers.labels.get("name", forms.FORMS[form][0].headers[0]),
                                     "表头下没有任何数据行：空表不导入，请每行填写一个组织后重传"))
    return rows, errors, refused, headers


def merged_rows(sheet: Sheet, header_number: int) -> dict[int, str]:
    """Data rows inside a merged range (row number -> the range): row errors, one unit per row."""
    found = {}
    for min_row, max_row, _, _, ref in sheet.merged:
        if max_row > header_number and max_row > min_row:
            for number in range(max(min_row, header_number + 1), max_row + 1):
                found[number] = ref
    return found


def _against_registry(ctx: RegistryContext, rows: list[tuple[int, dict]],
                      headers: forms.HeaderMap) -> tuple[list[forms.RowError], set[int]]:
    """(errors, unchanged rows): a registered code is an unchanged row when the row states its registered
    facts (persons included), else an error naming the columns that differ."""
    with ctx.connect() as conn:
        existing = repo.registered_by_code(conn, [facts["uscc"] for _, facts in rows])
    errors, unchanged = [], set()
    for number, facts in rows:
        entity = existing.get(facts["uscc"])
        if entity is None:
            continue
        differing = forms.differences(facts, _registered_facts(ctx, entity), headers.labels)
        if not differing:
            unchanged.add(number)
            continue
        columns = "、".join(headers.labels.get(name) or FIELD_NAMES.get(name, name) for name in differing)
        errors.append(forms.RowError(number, headers.labels.get("uscc", "统一社会信用代码"),
                                     f"{facts['uscc']}已登记为 {entity['entity_id']}（{entity['name']}），本行的"
                                     f"{columns}与登记的不同：修改资料请用资料更新，不能重复登记"))
    return errors, unchanged


def _registered_facts(ctx: RegistryContext, entity: dict) -> dict:
    """The entity's facts with its persons opened (none when erased: then every person differs)."""
    opened = ctx.persons.open(entity.pop("persons", None))
    return {**entity, **({**persons.EMPTY, **opened} if opened is not None else dict.fromkeys(persons.EMPTY))}


def _write(ctx: RegistryContext, principal: Principal, record: dict, rows: list[tuple[int, dict]],
           started: float) -> None:
    import_id = record["import_id"]
    split = [(domain.new_entity_id(), *persons.split(facts)) for _, facts in rows]
    read_rows = []
    command = Command(principal.actor(), "", conflict_field="file", conflict=(
        "导入期间另有登记使用了相同的统一社会信用代码，请重新导入以获得逐行错误报告"))

    def decide(conn: Connection) -> Decision:
        # Each row's persons sealed in a record of their own; the events carry its reference and hashes.
        sealed = ctx.persons.seal_new(conn, [(entity_id, people) for entity_id, _, people in split])
        events = []
        for entity_id, clear, _ in split:
            facts = {**clear, "personal_data": sealed[entity_id]}
            events += [replace(e, stream_id=entity_id) for e in domain.decide_register(entity_id, facts, import_id)]
            read_rows.append((entity_id, facts))
        return Decision(events, new_streams=True)

    def project(conn: Connection, result: AppendResult) -> None:
        at = result.events[0].recorded_at
        entities = [repo.entity_row(entity_id, facts, 1, at, import_id) for entity_id, facts in read_rows]
        repo.insert_entities(conn, entities)
        candidates = _shadow_candidates(conn, entities)
        repo.insert_candidates(conn, candidates, {e["entity_id"]: e["district_code"] for e in entities})
        record["seconds"] = round(time.perf_counter() - started, 3)
        repo.save_import(conn, record)

    ctx.execute(command, decide, project)


def _shadow_candidates(conn, entities: list[dict[str, Any]]) -> list[Candidate]:
    """Pairs sharing an address or legal representative (by keyed hash), with the same or nearly the same name.
    ``entities`` are the new read rows."""
    enterprises = [e for e in entities if e["kind"] == "non_public_enterprise"]
    keys_a = {k for e in enterprises if (k := e["address_key"])}
    keys_p = {k for e in enterprises if (k := e["person_key"])}
    by_key: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for other in repo.shadow_neighbours(conn, sorted(keys_a), sorted(keys_p)):
        _index(by_key, other)
    found: dict[tuple[str, str], Candidate] = {}
    for entity in enterprises:
        seen = set()
        for key in _keys(entity):
            for other in by_key.get(key, ()):
                if other["entity_id"] in seen:
                    continue
                seen.add(other["entity_id"])
                candidate = match(entity, other)
                if candidate is not None:
                    found[(candidate.entity_id, candidate.candidate_of)] = candidate
        _index(by_key, entity)
    return list(found.values())


def _keys(entity: dict) -> list[tuple[str, str]]:
    keys = []
    if (a := entity.get("address_key")):
        keys.append(("a", a))
    if (p := entity.get("person_key")):
        keys.append(("p", p))
    return keys


def _index(by_key: dict, entity: dict) -> None:
    for key in _keys(entity):
        by_key[key].append(entity)


def outcome(record: dict) -> dict:
    """What an import answers: its status, counts and the first 100 row errors."""
    unchanged = record["row_count"] - record["imported_count"] if record["status"] == "imported" else 0
    return {"import_id": record["import_id"], "status": record["status"], "form": record["form"],
            "filename": record["filename"], "rows": record["row_count"], "imported": record["imported_count"],
            "unchanged": unchanged, "error_count": len(record["errors"]), "errors": record["errors"][:100],
            "seconds": record["seconds"]}


def error_report(ctx: RegistryContext, import_id: str) -> tuple[dict, list[dict]]:
    with ctx.connect() as conn:
        record = repo.get_import(conn, import_id=import_id)
    if record is None:
        raise NotFound(f"没有导入记录 {import_id}", field="import_id")
    return record, record["errors"]
