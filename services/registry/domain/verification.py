"""Verifying the counts (应报尽报、一个不漏, the plan's 三(二)): departments' lists against the registry.

Market regulation (工商) lists the non-public enterprises, commerce (商务) the foreign-invested ones (外商投资,
港澳台投资 included), economy & IT (经信) the above-scale ones, civil affairs (民政) the social organizations,
and the federation of industry & commerce (工商联) the enterprises it knows, marking its member enterprises
(会员企业). A list is matched to the registry by unified social credit code. Three differences:

- ``not_in_registry``: on the list, not registered (a unit the survey missed, 一个不漏);
- ``missing_from_list``: registered entities of the list's scope that the list does not hold;
- ``registered_differently``: on the list and registered, but the registry does not put it in the list's
  scope (e.g. commerce lists an enterprise the survey recorded as 私营).

Pure: row parsing and the list's events; the registry's tables compute the differences.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from platform_core.errors import SchemaViolation
from platform_core.events import NewEvent

from .forms import Column, HeaderMap, RowError, fold, is_blank, match_headers
from .uscc import InvalidUscc, validate_uscc

CHUNK = 400  # rows per event: ids of matched, member and unmatched rows stay well under the payload limit
MEMBER_WORDS = {"是": True, "会员": True, "y": True, "yes": True, "1": True, "√": True,
                "否": False, "非会员": False, "n": False, "no": False, "0": False, "×": False}


@dataclass(frozen=True)
class ListKind:
    department: str
    name: str
    scope_zh: str

    def in_scope(self, facts: Mapping[str, Any]) -> bool:
        kind = facts.get("kind")
        if self.department == "civil_affairs":
            return kind == "social_organization"
        if kind != "non_public_enterprise":
            return False
        if self.department == "commerce":
            return facts.get("subtype") in ("foreign_invested", "hmt_invested")
        if self.department == "economy_it":
            return bool(facts.get("above_scale"))
        return True  # market regulation, the federation


LIST_KINDS = {k.department: k for k in (
    ListKind("market_regulation", "非公有制企业名单（工商）", "非公有制企业"),
    ListKind("commerce", "外商投资企业名单（商务）", "外商投资（含港澳台投资）企业"),
    ListKind("economy_it", "规模以上企业名单（经信）", "规模以上企业"),
    ListKind("civil_affairs", "社会组织名单（民政）", "社会组织"),
    ListKind("federation_commerce", "会员企业名单（工商联）", "非公有制企业（标明会员企业）"),
)}

# Header aliases: the first is the template's own.
NAME_HEADERS = ("名称", "企业名称", "单位名称", "社会组织名称", "会员企业名称")
USCC_HEADERS = ("统一社会信用代码", "社会信用代码", "信用代码")
MEMBER_HEADERS = ("是否会员", "会员", "是否会员企业")
IGNORED = ("序号", "所属区", "区", "地址", "备注", "行业", "企业类型", "编号", "法定代表人")


@dataclass(frozen=True)
class ListRow:
    row: int
    uscc: str
    name: str
    member: bool | None  # the federation's list only


def list_kind(department: str) -> ListKind:
    found = LIST_KINDS.get(department)
    if found is None:
        raise SchemaViolation(f"department：{department} 不报送核实名单（由工商、商务、经信、民政、工商联报送，三(二)）",
                              field="department")
    return found


def columns(with_member: bool) -> tuple[Column, ...]:
    """The list's columns: name and code; the federation's list also whether a row is a member enterprise."""
    found = (Column("name", NAME_HEADERS), Column("uscc", USCC_HEADERS))
    return found + ((Column("member", MEMBER_HEADERS, required=False),) if with_member else ())


def map_columns(header: Sequence[Any], row_number: int, with_member: bool) -> tuple[HeaderMap, list[RowError]]:
    """Which column holds what; unknown and missing columns are errors (the 附表 imports' rules)."""
    return match_headers(columns(with_member), "核实名单", header, row_number, IGNORED)


def parse_row(headers: HeaderMap, cells: Sequence[Any], row_number: int,
              with_member: bool) -> tuple[ListRow | None, list[RowError]]:
    by_field = {column.field: index for index, column in headers.columns.items()}

    def cell(field: str) -> Any:
        index = by_field.get(field)
        return cells[index] if index is not None and index < len(cells) else None

    def label(field: str, default: str) -> str:
        return headers.labels.get(field, default)

    errors = []
    name = None if is_blank(cell("name")) else fold(cell("name"))
    if name is None:
        errors.append(RowError(row_number, label("name", NAME_HEADERS[0]), "必填"))
    elif len(name) > 200:
        errors.append(RowError(row_number, label("name", NAME_HEADERS[0]), f"长度{len(name)}超过200个字"))
    raw = cell("uscc")
    code = None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        errors.append(RowError(row_number, label("uscc", USCC_HEADERS[0]),
                               f"单元格为数字格式（{raw!r}），请把该列设为文本后重填"))
    else:
        try:
            code = validate_uscc(str(raw or ""))
        except InvalidUscc as exc:
            errors.append(RowError(row_number, label("uscc", USCC_HEADERS[0]), exc.message))
    member = None
    if with_member:
        value = cell("member")
        member = True if is_blank(value) else MEMBER_WORDS.get(fold(value).lower())
        if member is None:
            errors.append(RowError(row_number, label("member", MEMBER_HEADERS[0]), f"“{fold(value)}”应为是或否"))
    if errors:
        return None, errors
    return ListRow(row_number, code, name, member), []


def duplicate_codes(rows: Sequence[ListRow]) -> list[RowError]:
    first: dict[str, int] = {}
    errors = []
    for row in rows:
        if row.uscc in first:
            errors.append(RowError(row.row, USCC_HEADERS[0], f"统一社会信用代码{row.uscc}与第{first[row.uscc]}行重复"))
        else:
            first[row.uscc] = row.row
    return errors


def stream_of(department: str, territory: str | None) -> str:
    return f"verification-{department}" + (f"-{territory}" if territory else "")


def decide_list(kind: ListKind, territory: str | None, list_id: str, submission: int, import_id: str,
                rows: Sequence[ListRow], matched: Mapping[str, tuple[str, Mapping[str, Any]]]) -> list[NewEvent]:
    """VerificationListImported, one event per CHUNK rows (part/parts): each part carries its rows' matched
    entity ids (in scope), the federation's member entity ids, the ids registered differently and the codes
    not in the registry, so projections need no look-ups. A department's new list replaces its earlier one."""
    ordered = sorted(rows, key=lambda r: r.row)
    chunks = [ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)] or [[]]
    in_scope = {r.uscc for r in ordered if r.uscc in matched and kind.in_scope(matched[r.uscc][1])}
    totals = {"row_count": len(ordered), "matched_count": len(in_scope),
              "registered_differently_count": sum(1 for r in ordered if r.uscc in matched and r.uscc not in in_scope),
              "not_in_registry_count": sum(1 for r in ordered if r.uscc not in matched),
              "member_count": sum(1 for r in ordered if r.member)}
    decided = []
    for number, chunk in enumerate(chunks, start=1):
        decided.append(NewEvent("VerificationListImported", {
            "list_id": list_id, "department": kind.department, "territory": territory, "submission": submission,
            "import_id": import_id, **totals, "part": number, "parts": len(chunks),
            "entity_ids": [matched[r.uscc][0] for r in chunk if r.uscc in in_scope],
            "member_entity_ids": [matched[r.uscc][0] for r in chunk if r.member and r.uscc in matched],
            "registered_differently": [matched[r.uscc][0] for r in chunk if r.uscc in matched and r.uscc not in in_scope],
            "not_in_registry": [r.uscc for r in chunk if r.uscc not in matched]}))
    return decided
