"""How every XLSX the platform writes holds its cells (docs/architecture.md, "Spreadsheets out").

- A count is an integer cell, a rate a number under a percent format (its numerator and denominator in
  cells of their own), a date a date: a reader can sort and sum them, never parse ``'73.62%（173/235）'``.
- Text is text: a string is stored as a string cell, never as a formula, whatever it starts with. One
  starting with ``= + - @`` (or a tab, a line break, or their full-width forms) also gets Excel's quote
  prefix, so that editing the cell in a spreadsheet program keeps it text (formula injection, OWASP
  "CSV Injection"). The stored value is the string itself: the import reads back the same name.
- ``csv_text`` is the CSV counterpart: a CSV has no cell types, so a dangerous text is prefixed with ``'``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

# What a spreadsheet program may take for the start of a formula (the full-width forms are folded to
# these by Excel's input method on some systems).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
INTEGER_FORMAT = "0"
PERCENT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"
POINTS_FORMAT = '+0.00"个百分点";-0.00"个百分点";0.00"个百分点"'


@dataclass(frozen=True)
class Percent:
    """A published rate: ``percent`` as the data file states it (e.g. Decimal("73.62")), None when the
    denominator is zero (no rate: a blank cell, not 0%)."""

    percent: Decimal | str | None

    @property
    def fraction(self) -> float | None:
        return None if self.percent is None else float(Decimal(str(self.percent)) / 100)


@dataclass(frozen=True)
class Points:
    """A change of a rate in percentage points (e.g. "+1.25", "-0.50"), None when there is no earlier rate."""

    points: Decimal | str | None

    @property
    def number(self) -> float | None:
        return None if self.points is None else float(Decimal(str(self.points)))


CellValue = str | int | float | Decimal | date | Percent | Points | None


def formula_like(text: str) -> bool:
    """Would a spreadsheet program take this text for a formula if it were typed in?"""
    return text.startswith(FORMULA_STARTS)


def append_row(sheet: Worksheet, values: Sequence[CellValue]) -> None:
    """One row at the sheet's end, each cell typed by ``set_cell``."""
    sheet.append([None] * len(values))  # the row's cells exist now: the sheet's last row is this one
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        set_cell(sheet.cell(row, column), value)


def set_cell(cell: Cell, value: CellValue) -> None:
    """A cell holding ``value`` the platform's way (this module's docstring)."""
    if isinstance(value, bool):
        raise TypeError("a yes/no fact is written as the form's word (是/否), not as a boolean cell")
    if value is None:
        cell.value = None
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # openpyxl types any string starting with "=" as a formula
        cell.number_format = TEXT_FORMAT
        if formula_like(value):
            cell.quotePrefix = True
    elif isinstance(value, Percent):
        cell.value = value.fraction
        cell.number_format = PERCENT_FORMAT
    elif isinstance(value, Points):
        cell.value = value.number
        cell.number_format = POINTS_FORMAT
    elif isinstance(value, int):
        cell.value = value
        cell.number_format = INTEGER_FORMAT
    elif isinstance(value, (float, Decimal)):
        cell.value = float(value)
    elif isinstance(value, (date, datetime)):
        cell.value = value
        cell.number_format = DATE_FORMAT
    else:
        raise TypeError(f"no spreadsheet cell for {type(value).__name__}")


def text_column(sheet: Worksheet, letter: str) -> None:
    """Cells typed later into this column stay text (a USCC typed into a number cell loses digits)."""
    sheet.column_dimensions[letter].number_format = TEXT_FORMAT


def csv_text(value: object) -> object:
    """A CSV field: a text a spreadsheet program would take for a formula is prefixed with ``'``."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value
