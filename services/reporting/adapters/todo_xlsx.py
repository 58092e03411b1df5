"""A to-do list as an XLSX workbook, written the platform's way (platform_core.spreadsheets): counts as
integers, dates as dates, every text as text (a name starting with = + - @ stays text, never a formula)."""

import io
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook

from platform_core.spreadsheets import append_row


def xlsx_table(title: str, subtitle: str, columns: Sequence[tuple[str, str, str]], rows: Sequence[dict]) -> bytes:
    """One sheet: the title, a subtitle line, the header row, then one row per entry. ``columns``: (field, header,
    "text" | "number" | "date")."""
    book = Workbook()
    sheet = book.active
    sheet.title = "待办清单"
    append_row(sheet, [title])
    append_row(sheet, [subtitle])
    append_row(sheet, [header for _, header, _ in columns])
    for entry in rows:
        append_row(sheet, [_typed(entry.get(field), kind) for field, _, kind in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _typed(value, kind: str):
    if value is None:
        return None
    if kind == "number":
        return int(value)
    if kind == "date" and isinstance(value, date):
        return value
    return str(value)
