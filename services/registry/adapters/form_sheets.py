"""附表1/附表2 as XLSX files: a ledger unit's export and the blank template (layout: domain.forms_out).

The first sheet is the form the import reads: a title row, the header row, one row per entity. Every
cell is written by platform_core.spreadsheets (counts as integers, text as text, never a formula); the
code column is text-formatted, so a code typed into the template keeps its 18 characters. The second
sheet, 填表说明, lists each column's rule; the import reads only the first sheet.
"""

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from platform_core.spreadsheets import append_row, text_column
from registry.domain import forms_out
from registry.domain.forms import FORM_NAMES

NOTES_SHEET = "填表说明"
_WIDE = {"name": 36, "uscc": 22, "address": 30, "no_organization_reason": 30, "street_code": 18,
         "supervising_department": 18, "industry": 18}


def form_workbook(form: str, title: str, rows: Iterable[Sequence[Any]], notes: Sequence[tuple[str, str, str]],
                  about: Sequence[tuple[str, Any]] = ()) -> bytes:
    """The form's sheet (title, headers, ``rows``) and its notes sheet (``about`` lines, then the rules)."""
    book = Workbook()
    sheet = book.active
    sheet.title = form_sheet_title(form)
    append_row(sheet, [title])
    sheet["A1"].font = Font(bold=True, size=13)
    append_row(sheet, forms_out.headers(form))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    fields = [None, *(column.field for column in forms_out.columns(form))]
    for index, field in enumerate(fields, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = _WIDE.get(field, 6 if field is None else 12)
        if field == "uscc":
            text_column(sheet, letter)
    for values in rows:
        append_row(sheet, values)
    sheet.freeze_panes = "B3"
    guide = book.create_sheet(NOTES_SHEET)
    for label, value in about:
        append_row(guide, [label, value])
    if about:
        append_row(guide, [])
    append_row(guide, ["列", "必填/选填", "填写规则"])
    for line in notes:
        append_row(guide, list(line))
    for letter, width in (("A", 26), ("B", 12), ("C", 90)):
        guide.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def form_sheet_title(form: str) -> str:
    return FORM_NAMES[form].split("（", 1)[0]
