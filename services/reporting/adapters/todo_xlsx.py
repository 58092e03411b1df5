"""A to-do list as an XLSX workbook: numbers and dates as typed cells, every text as text.

Kept to one function so the shared cell writer of platform_core can replace it (docs/todo.md): a text cell is
written with its data type set explicitly, so a name starting with = + - @ stays text, never a formula.
"""

import io
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING


def xlsx_table(title: str, subtitle: str, columns: Sequence[tuple[str, str, str]], rows: Sequence[dict]) -> bytes:
    """One sheet: the title, a subtitle line, the header row, then one row per entry. ``columns``: (field, header,
    "text" | "number" | "date")."""
    book = Workbook()
    sheet = book.active
    sheet.title = "待办清单"
    _text(sheet.cell(1, 1), title)
    _text(sheet.cell(2, 1), subtitle)
    for index, (_, header, _) in enumerate(columns, start=1):
        _text(sheet.cell(3, index), header)
    for offset, entry in enumerate(rows, start=4):
        for index, (field, _, kind) in enumerate(columns, start=1):
            value, cell = entry.get(field), sheet.cell(offset, index)
            if value is None:
                continue
            if kind == "number":
                cell.value = int(value)
            elif kind == "date" and isinstance(value, date):
                cell.value, cell.number_format = value, "yyyy-mm-dd"
            else:
                _text(cell, str(value))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(cell, value: str) -> None:
    cell.value = value
    cell.data_type = TYPE_STRING  # openpyxl reads a leading "=" as a formula; the value is text
