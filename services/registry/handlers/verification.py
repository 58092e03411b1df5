"""Departments' verification lists (三(二) 应报尽报、一个不漏): import, all or nothing, and the differences.

A list (XLSX or CSV) is validated row by row like the 附表 imports; any error rejects the file, writes
nothing and keeps the error report under the import id (GET /imports/{id}/errors.csv). An accepted list
is appended as VerificationListImported events (its rows matched to the registry, per part) together with
the registry's list tables, in one transaction; the department's earlier list is replaced.
"""

import hashlib
import time
import uuid

from sqlalchemy.engine import Connection

from platform_core.auth import Forbidden, Principal
from platform_core.errors import NotFound
from platform_core.event_store import AppendResult, request_fingerprint
from platform_core.events import Command, Decision
from registry.adapters import repository as repo
from registry.adapters import verification as lists
from registry.adapters.spreadsheet import Sheet, read_sheet
from registry.domain import verification as domain
from registry.domain.forms import RowError, is_blank, normalize_header

from .context import RegistryContext
from .imports import earlier_import, merged_rows, new_record, outcome, save_rejected, sheet_limits

PERMISSION = "entity.verify"
USCC_HEADERS = {normalize_header(h) for h in domain.USCC_HEADERS}


def require_lister(principal: Principal) -> domain.ListKind:
    """工商, 商务, 经信, 民政 and 工商联 verify the counts with their lists; no one else (403, recorded)."""
    principal.require(PERMISSION, target="verification-list")
    if principal.kind not in domain.LIST_KINDS:
        raise Forbidden(f"{principal.department} 不报送核实名单：由工商、商务、经信、民政、工商联分别核实（三(二)）",
                        principal=principal, permission=PERMISSION, target="verification-list")
    return domain.LIST_KINDS[principal.kind]


def import_list(ctx: RegistryContext, principal: Principal, filename: str, content: bytes,
                idempotency_key: str | None = None) -> tuple[dict, bool]:
    """The import's outcome (imported or rejected, counts, errors); (outcome, replayed)."""
    kind = require_lister(principal)
    started, digest = time.perf_counter(), hashlib.sha256(content).hexdigest()
    form = f"verification-{kind.department}"
    earlier = _earlier_answer(ctx, idempotency_key, form, digest)
    if earlier is not None:
        return earlier, True
    record = new_record(principal, idempotency_key, form, filename, digest)
    columns = len(domain.columns(kind.department == "federation_commerce"))
    rows, errors = _rows(read_sheet(filename, content, sheet_limits(ctx, columns, len(domain.IGNORED))), kind, ctx.import_max_rows)
    matched = {}
    if not errors:
        with ctx.connect() as conn:
            matched = lists.entities_by_codes(conn, [r.uscc for r in rows])
        errors = _outside_territory(principal, rows, matched)
    if errors:
        return _answer(save_rejected(ctx, record, len(rows), errors, started), None), False
    list_key = domain.stream_of(kind.department, principal.territory)
    list_id = f"verificationlist-{uuid.uuid4()}"
    command = Command(principal.actor(), request_fingerprint("verification-list", form, digest), idempotency_key,
                      conflict=f"{kind.name}的核实名单正被并发导入，请重试", conflict_field="file")

    decided = []

    def decide(conn: Connection) -> Decision:
        earlier = lists.current(conn, list_key, lock=True)  # the department's lists, one at a time
        decided[:] = domain.decide_list(kind, principal.territory, list_id, (earlier["submission"] if earlier else 0)
                                        + 1, record["import_id"], rows, matched)
        return Decision(decided, list_key)

    def project(conn: Connection, result: AppendResult) -> None:
        lists.replace_list(conn, lists.summary_row(list_key, kind.department, principal.territory, decided[0].payload,
                                                   principal.department, result.events[-1].recorded_at), rows)
        record.update(status="imported", row_count=len(rows), imported_count=len(rows), errors=[],
                      seconds=round(time.perf_counter() - started, 3))
        repo.save_import(conn, record)

    if ctx.execute(command, decide, project).replayed:  # a concurrent twin with the key imported it first
        return _earlier_answer(ctx, idempotency_key, form, digest), True
    return _answer(record, list_id), False


def _earlier_answer(ctx: RegistryContext, key: str | None, form: str, digest: str) -> dict | None:
    earlier = earlier_import(ctx, key, form, digest)
    if earlier is None:
        return None
    with ctx.connect() as conn:
        return _answer(earlier, lists.list_id_of_import(conn, earlier["import_id"]))


def _rows(sheet: Sheet, kind: domain.ListKind, max_rows: int) -> tuple[list[domain.ListRow], list[RowError]]:
    with_member = kind.department == "federation_commerce"
    index = next((i for i, (_, cells) in enumerate(sheet.rows[:10])
                  if any(normalize_header(c) in USCC_HEADERS for c in cells)), None)
    if index is None:
        return [], [RowError(1, domain.USCC_HEADERS[0], f"前10行中找不到表头（应有“{domain.NAME_HEADERS[0]}”"
                                                       f"“{domain.USCC_HEADERS[0]}”列）")]
    header_number, header = sheet.rows[index]
    headers, errors = domain.map_columns(header, header_number, with_member)
    if errors:
        return [], errors
    data = sheet.rows[index + 1:]
    if len(data) > max_rows:
        return [], [RowError(header_number, "", f"文件有{len(data)}行，超过每个文件{max_rows}行的上限")]
    merged, rows = merged_rows(sheet, header_number), []
    used = set(headers.columns)
    for number, cells in data:
        if all(is_blank(v) for i, v in enumerate(cells) if i in used):
            continue
        if number in merged:
            errors.append(RowError(number, merged[number], "位于合并单元格内：请取消合并，每行填写一个单位"))
            continue
        row, row_errors = domain.parse_row(headers, cells, number, with_member)
        errors.extend(row_errors)
        if row is not None:
            rows.append(row)
    return rows, errors + domain.duplicate_codes(rows)


def _outside_territory(principal: Principal, rows, matched) -> list[RowError]:
    """A department whose token is limited to a territory lists that territory's units only."""
    if principal.territory is None:
        return []
    return [RowError(r.row, domain.USCC_HEADERS[0], f"{r.uscc} 登记在{matched[r.uscc][1]['street_code']}，超出本部门范围"
                                                    f"（{principal.territory}）")
            for r in rows if r.uscc in matched and not principal.covers(matched[r.uscc][1]["street_code"])]


def _answer(record: dict, list_id: str | None) -> dict:
    return {**outcome(record), "list_id": list_id}


def report(ctx: RegistryContext, department: str, territory: str | None) -> dict:
    """A department's current list and its three differences against the registry as it is now."""
    kind = domain.list_kind(department)
    list_key = domain.stream_of(department, territory)
    with ctx.connect() as conn:
        summary = lists.current(conn, list_key)
        if summary is None:
            raise NotFound(f"{kind.name}尚未报送（{list_key}）", field="department")
        found = lists.differences(conn, kind, list_key, territory)
    return {**summary, "name": kind.name, "scope_zh": kind.scope_zh,
            **{f"{name}_count": len(items) for name, items in found.items()}, "differences": found}
